/** Renderer entry: mounts App, with an ErrorBoundary as the last resort behind App's per-pane ones. */
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { ErrorBoundary } from './components/ErrorBoundary'
import './styles.css'

const root = document.getElementById('root')
if (!root) throw new Error('#root element missing from index.html')

createRoot(root).render(
  <StrictMode>
    <ErrorBoundary name="The window">
      <App />
    </ErrorBoundary>
  </StrictMode>,
)
