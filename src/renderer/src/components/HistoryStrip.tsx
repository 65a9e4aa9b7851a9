import type { HistoryItem, HistoryList } from '../../../shared/ipc/payloads'
import { useDataUrl } from './use-data-url'

interface Props {
  list: HistoryList
  currentId: string | null
  onOpen: (id: string) => void
  onDelete: (id: string) => void
  /** Shows older entries (the list is paged). */
  onMore?: () => void
}

function Thumb({
  item,
  current,
  onOpen,
  onDelete,
}: {
  item: HistoryItem
  current: boolean
  onOpen: () => void
  onDelete: () => void
}): React.JSX.Element {
  const url = useDataUrl(item.thumbnail)
  const when = new Date(item.createdAt)
  return (
    <li className={current ? 'history-item current' : 'history-item'} data-testid="history-item" data-id={item.id}>
      <button
        type="button"
        className="history-open"
        onClick={onOpen}
        title={`${item.prompt}\nseed ${item.seed} · ${item.steps} steps · ${item.width}×${item.height} · ${item.model}`}
        aria-current={current || undefined}
      >
        {url ? <img src={url} alt="" width={64} height={64} /> : <span className="thumb-placeholder" />}
        <span className="history-caption">
          <span className="history-prompt">{item.prompt}</span>
          {item.attributed && (
            <span className="history-kind" data-testid="history-attributed">
              attributed image
            </span>
          )}
          <span className="muted">
            {when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} · seed {item.seed}
          </span>
        </span>
      </button>
      <button
        type="button"
        className="history-delete"
        aria-label={`Delete "${item.prompt}" from history`}
        title="Delete from history"
        onClick={onDelete}
      >
        ×
      </button>
    </li>
  )
}

/** Past generations, newest first. Unreadable entries are named, not hidden. */
export function HistoryStrip({ list, currentId, onOpen, onDelete, onMore }: Props): React.JSX.Element {
  return (
    <section className="history" aria-label="History">
      <div className="section-label">History</div>
      {list.items.length === 0 && <p className="muted small">Generations appear here and are kept between sessions.</p>}
      <ul className="history-list" data-testid="history">
        {list.items.map((item) => (
          <Thumb
            key={item.id}
            item={item}
            current={item.id === currentId}
            onOpen={() => onOpen(item.id)}
            onDelete={() => onDelete(item.id)}
          />
        ))}
      </ul>
      {onMore && list.items.length < list.total && (
        <button type="button" className="history-more" data-testid="history-more" onClick={onMore}>
          Show older ({list.total - list.items.length} more)
        </button>
      )}
      {list.skipped.length > 0 && (
        <p className="notice small" data-testid="history-skipped">
          Skipped {list.skipped.length} unreadable {list.skipped.length === 1 ? 'entry' : 'entries'}:{' '}
          {list.skipped.map((s) => `${s.id} (${s.reason})`).join('; ')}
        </p>
      )}
    </section>
  )
}
