export interface Message {
  kind: 'error' | 'info' | 'warn'
  text: string
}

/** Dismissable messages (errors from main, saves, truncation warnings). */
export function Banner({
  messages,
  onDismiss,
}: {
  messages: Message[]
  onDismiss: (i: number) => void
}): React.JSX.Element | null {
  if (messages.length === 0) return null
  return (
    <div className="banners" aria-live="polite">
      {messages.map((m, i) => (
        <div
          key={`${i}-${m.text}`}
          className={`banner ${m.kind}`}
          role={m.kind === 'error' ? 'alert' : 'status'}
          data-testid={`banner-${m.kind}`}
        >
          <span>{m.text}</span>
          <button type="button" className="dismiss" aria-label="Dismiss" onClick={() => onDismiss(i)}>
            ×
          </button>
        </div>
      ))}
    </div>
  )
}
