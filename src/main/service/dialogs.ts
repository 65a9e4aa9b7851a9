/**
 * Native dialogs behind an interface, so the service stays free of Electron: main injects an
 * adapter over Electron's `dialog`; tests inject answers (a path, or null for "cancelled").
 */
import fs from 'node:fs'
import path from 'node:path'

export interface SaveFileRequest {
  title: string
  /** Suggested file name (no folder). */
  defaultName: string
  filters: { name: string; extensions: string[] }[]
}

export interface DialogAdapter {
  /** Asks where to save a file; null when the user cancelled. */
  saveFile(request: SaveFileRequest): Promise<string | null>
  /** Asks for a folder (to open a model, or to write an export into); null when cancelled. */
  chooseFolder(request: { title: string; purpose: 'open-model' | 'export' }): Promise<string | null>
}

/**
 * JSON-able dialog answers (tests, and e2e in Electron mode where options travel as JSON).
 * `saveFile`: a file path, or an existing folder to put the suggested name in.
 */
export interface DialogAnswers {
  saveFile?: string | null
  chooseFolder?: string | null
  openModel?: string | null
}

export function scriptedDialogs(answers: DialogAnswers): DialogAdapter {
  return {
    saveFile: async (request) => {
      const answer = answers.saveFile ?? null
      if (answer && fs.existsSync(answer) && fs.statSync(answer).isDirectory())
        return path.join(answer, request.defaultName)
      return answer
    },
    chooseFolder: async (request) =>
      (request.purpose === 'open-model' ? answers.openModel : answers.chooseFolder) ?? null,
  }
}
