/**
 * Test helper: a copy of a model folder whose U-Net keeps its weights as external data
 * (`unet/model.onnx_data`), laid out as the diffusers/Optimum exporters do (every initializer of
 * at least 1 KB moved out, offsets aligned to 4 KB so ONNX Runtime can memory-map them).
 * Used by test/engine/weights-file.test.ts and bench/memory-peaks.ts (--external).
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'

const ALIGN = 4096

export function externalizeUnet(
  modelDir: string,
  into = join(mkdtempSync(join(tmpdir(), 'daam-ext-')), 'model'),
): string {
  cpSync(modelDir, into, { recursive: true })
  const unetPath = join(into, 'unet', 'model.onnx')
  const model = onnx.ModelProto.decode(readFileSync(unetPath))
  const chunks: Buffer[] = []
  let offset = 0
  for (const t of model.graph?.initializer ?? []) {
    const raw = t.rawData
    if (!raw || raw.length < 1024) continue
    const pad = (ALIGN - (offset % ALIGN)) % ALIGN
    if (pad) chunks.push(Buffer.alloc(pad))
    offset += pad
    chunks.push(Buffer.from(raw))
    t.externalData = [
      onnx.StringStringEntryProto.create({ key: 'location', value: 'model.onnx_data' }),
      onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
      onnx.StringStringEntryProto.create({ key: 'length', value: String(raw.length) }),
    ]
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL
    t.rawData = new Uint8Array(0)
    offset += raw.length
  }
  writeFileSync(join(into, 'unet', 'model.onnx_data'), Buffer.concat(chunks))
  writeFileSync(unetPath, onnx.ModelProto.encode(model).finish())
  return into
}
