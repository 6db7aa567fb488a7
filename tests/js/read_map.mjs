// Reads a map blob with the page's own reader (explorer/app/map_js/map_core.js) and writes what it found
// as JSON: node runs the same source the browser gets. Usage: node read_map.mjs <map_core.js> <blob> <out.json>
import { readFileSync, writeFileSync } from "node:fs";

const [core, blobPath, outPath] = process.argv.slice(2);
const readMap = new Function(`${readFileSync(core, "utf8")}\nreturn readMap;`)();
const file = readFileSync(blobPath);
// The blob inside a larger buffer at an odd offset, as a Uint8Array from a websocket message may be.
const padded = new Uint8Array(file.length + 3);
padded.set(file, 3);
const map = readMap(padded.subarray(3));
writeFileSync(outPath, JSON.stringify({ header: map.header, x: [...map.x], y: [...map.y], ids: [...map.ids],
                                        labels: [...map.labels],
                                        codes: map.codes && [...map.codes] }));
