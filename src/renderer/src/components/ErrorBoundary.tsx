/**
 * Keeps a render error inside the pane it happened in (App wraps each pane, main.tsx the whole
 * window as the last resort): the pane shows what failed with a "Reload view" button, the rest of
 * the window keeps working. Without it React unmounts the whole tree and the window goes blank
 * (a history entry with missing fields did that).
 */
import { Component, type ErrorInfo, type ReactNode } from 'react'

interface Props {
  /** The pane, as people call it ("The image", "The prompt"). */
  name: string
  children: ReactNode
  /** Called by "Reload view" before the pane renders again, e.g. to drop what broke it. */
  onReset?: () => void
  /** A change of this value (e.g. a new generation shown) clears the error by itself. */
  resetKey?: unknown
}

interface State {
  error: Error | null
  resetKey: unknown
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null, resetKey: this.props.resetKey }

  static getDerivedStateFromError(error: unknown): Partial<State> {
    return { error: error instanceof Error ? error : new Error(String(error)) }
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return props.resetKey === state.resetKey ? null : { error: null, resetKey: props.resetKey }
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`${this.props.name} failed to render:`, error, info.componentStack)
  }

  private readonly reload = (): void => {
    this.props.onReset?.()
    this.setState({ error: null })
  }

  override render(): ReactNode {
    const { error } = this.state
    if (!error) return this.props.children
    return (
      <div className="pane-error" role="alert" data-testid="pane-error">
        <p>
          <b>{this.props.name} could not be shown.</b> {error.message || error.name}{' '}
          <span className="muted small">The rest of the window still works.</span>
        </p>
        <button type="button" className="small" onClick={this.reload}>
          Reload view
        </button>
      </div>
    )
  }
}

/** Renders nothing, or throws `error` so that the nearest ErrorBoundary shows it (errors found outside render). */
export function Rethrow({ error }: { error: Error | null }): null {
  if (error) throw error
  return null
}
