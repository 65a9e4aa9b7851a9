import type { Api } from '../../shared/ipc/createApi'

declare global {
  interface Window {
    /** The only bridge to the main process (see src/shared/ipc/contract.ts). */
    readonly api: Api
  }
}

export {}
