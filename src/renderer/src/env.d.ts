import type { Api } from '../../shared/ipc/create-api'

declare global {
  interface Window {
    /** The only bridge to the main process (see src/shared/ipc/contract.ts). */
    readonly api: Api
  }
}

export {}
