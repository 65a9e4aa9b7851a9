/**
 * File and folder names made from user text (prompt words, prompts), safe on Windows, macOS and
 * Linux. Callers: the default name of "Save overlay" (app-saves.ts), the per-word files of every
 * folder export (word-files.ts) and the name of the new subfolder each export writes into.
 *
 * What a name must avoid, and how a stem avoids it:
 *  - characters Windows forbids (< > : " / \ | ? *), control characters, the path separators of
 *    every platform, dots and spaces (a trailing dot or space is silently dropped by Windows, a
 *    leading dot hides the file on macOS and Linux): only letters, combining marks and digits of
 *    any script are kept, every other run of characters becomes one '-';
 *  - Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, in any case and with any extension,
 *    so "con.overlay.png" is reserved too): such a stem gets a suffix;
 *  - names that differ only in case, which collide on the default file systems of Windows and
 *    macOS: stems are lower case;
 *  - length: 255 bytes per name on all three (UTF-8 on Linux and macOS, UTF-16 units on Windows):
 *    stems are cut to a byte budget that leaves room for the extension, at a word break when
 *    there is one in the second half, else at a whole code point.
 */

/** Default byte budget of a stem (UTF-8); leaves room for suffixes like "-12.overlay.png". */
export const STEM_MAX_BYTES = 60

const DEVICE_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/

/** True for Windows device names (compare a stem, i.e. a name without its extensions). */
export function isWindowsDeviceName(stem: string): boolean {
  return DEVICE_NAME.test(stem.normalize('NFKD').toLowerCase())
}

function cutToBytes(text: string, maxBytes: number): string {
  let bytes = 0
  let out = ''
  for (const ch of text) {
    bytes += Buffer.byteLength(ch, 'utf8')
    if (bytes > maxBytes) break
    out += ch
  }
  return out
}

/**
 * A file-name stem for `text`: lower-case letters, marks and digits joined by '-', at most
 * `maxBytes` UTF-8 bytes, never empty (`fallback` then) and never a Windows device name.
 */
export function safeStem(text: string, fallback = 'word', maxBytes = STEM_MAX_BYTES): string {
  const cleaned = text
    // NFKD folds compatibility forms (full-width letters, superscript digits, ligatures) to plain
    // ones; NFC afterwards recomposes accents so "café" stays one readable word.
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}]+/gu, '-')
    .normalize('NFC')
    .replace(/^[-\p{M}]+/u, '')
  let stem = cutToBytes(cleaned, maxBytes)
  // a cut inside a word ends at the previous word instead, unless that loses over half the budget
  if (stem.length < cleaned.length && cleaned[stem.length] !== '-') {
    const lastBreak = stem.lastIndexOf('-')
    if (lastBreak >= stem.length / 2) stem = stem.slice(0, lastBreak)
  }
  stem = stem.replace(/-+$/, '')
  if (!stem) return fallback
  return isWindowsDeviceName(stem) ? `${stem}-${fallback}` : stem
}

/**
 * Hands out distinct stems within one folder. Stems of the files the folder's writer uses itself
 * (image, grid, composite, meta, ...) are reserved, so a prompt word named like one of them still
 * gets its own file; repeats get "-2", "-3", ...
 */
export class StemSet {
  private readonly used: Set<string>

  constructor(reserved: Iterable<string> = []) {
    this.used = new Set([...reserved].map((r) => r.toLowerCase()))
  }

  take(text: string, options: { prefix?: string; fallback?: string; maxBytes?: number } = {}): string {
    const maxBytes = options.maxBytes ?? STEM_MAX_BYTES
    const prefix = options.prefix ?? ''
    const base = prefix + safeStem(text, options.fallback, maxBytes - Buffer.byteLength(prefix))
    let stem = base
    for (let i = 2; this.used.has(stem); i++) {
      const suffix = `-${i}`
      stem = cutToBytes(base, maxBytes - suffix.length).replace(/-+$/, '') + suffix
    }
    this.used.add(stem)
    return stem
  }
}

/**
 * Name of the folder one export of a generation goes into: "<prompt stem>-<seed>-<generation id>",
 * e.g. "a-snowman-wearing-a-red-hat-3-20261130-151742-123-abcdef".
 */
export function generationFolderName(prompt: string, seed: number | string, id: string): string {
  const tail = safeStem(`${seed}-${id}`, 'generation', 80)
  return `${safeStem(prompt, 'generation', 48)}-${tail}`
}
