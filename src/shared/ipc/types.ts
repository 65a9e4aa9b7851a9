/** Response and event payload types of the `app:*` channels. */

export interface AppInfo {
  name: string
  version: string
  platform: string
  arch: string
  versions: {
    node: string
    /** Present when running inside Electron. */
    electron?: string
    chrome?: string
    onnxruntime: string
    sharp: string
    vips: string
  }
  bundledModel: {
    /** Absolute path of the bundled model folder (`models/daam-shapes`). */
    path: string
    exists: boolean
  }
  userDataDir: string | null
}
