// run_onnx.js MODEL.onnx INPUT.bin N — runs an exported model in ONNX Runtime
// (its CPU provider) on N examples read as raw bytes (uint8, the model's
// input shape; float32 little-endian when the model's input is FLOAT, an
// f32[...] input) and prints one line of probabilities per example.
const fs = require('fs');
const ort = require('onnxruntime-node');

(async () => {
  const [model, inputPath, nText] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model);
  const inputName = session.inputNames[0];
  const n = parseInt(nText, 10);
  const bytes = fs.readFileSync(inputPath);
  const perExample = bytes.length / n;
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  let dims = meta && meta.shape ? meta.shape.slice(1) : [perExample];
  const float = meta && meta.type === 'float32';
  const values = float
    ? new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
    : Uint8Array.from(bytes);
  const x = new ort.Tensor(float ? 'float32' : 'uint8', values, [n, ...dims]);
  const out = await session.run({[inputName]: x});
  const probs = out[session.outputNames[0]];
  const k = probs.data.length / n;
  const lines = [];
  for (let i = 0; i < n; i++)
    lines.push(Array.from(probs.data.slice(i * k, (i + 1) * k)).map((v) => v.toPrecision(9)).join(' '));
  process.stdout.write(lines.join('\n') + '\n');
})().catch((e) => { console.error('run_onnx: ' + e.message); process.exit(1); });
