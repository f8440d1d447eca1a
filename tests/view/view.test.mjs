// The MCP App view in a browser, against real Gradio apps through
// spaces-mcp: run by tests/test_view.py, which starts both and passes
// MCP_URL (a server whose tools are the kitchen app's media endpoints and
// the SanaSprint-like generate_image) and SHOTS (where screenshots go).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { connect, startHost } from "./harness.mjs";

const SHOTS = process.env.SHOTS || ".";
let host;
const figures = {};

before(async () => { host = await startHost(process.env.MCP_URL); });
after(async () => {
  await host?.close();
  writeFileSync(`${SHOTS}/figures.json`, JSON.stringify(figures));
});

async function shown(tool, args, options) {
  const result = await host.client.callTool({ name: tool, arguments: args });
  assert.ok(!result.isError, JSON.stringify(result.content));
  const view = await host.show(args, result, options);
  return { result, ...view };
}

async function clean(view) {
  const violations = await view.frame.evaluate(() => window.__violations);
  assert.deepEqual(violations, [], "the view broke its CSP");
  const elsewhere = view.requests.filter((u) => !u.startsWith("data:") && u !== `${host.sandboxOrigin}/view.html`);
  assert.deepEqual(elsewhere, [], "the view asked another origin for something");
}

test("the view is served as an MCP App resource, self-contained", () => {
  assert.equal(host.viewMime, "text/html;profile=mcp-app");
  assert.ok(host.uri.startsWith("ui://"));
  assert.doesNotMatch(host.viewHtml, /<script[^>]+src=|<link[^>]+href=|https?:\/\//);
  figures.view_bytes = Buffer.byteLength(host.viewHtml);
  const app = host.tools.filter((t) => JSON.stringify(t._meta?.ui?.visibility) === '["app"]').map((t) => t.name);
  assert.deepEqual(app.sort(), ["viewer_read_file", "viewer_upload_file"]);
});

test("a 2048 px image shows at full size while the model's content holds the preview", async () => {
  const view = await shown("big_image", { side: 2048 });
  const preview = view.result.content.find((b) => b.type === "image");
  assert.ok(preview, "the model's content has an image");
  assert.ok(preview.data.length * 0.75 < 1.2 * 1024 * 1024, "the model got a preview, not the 12 MB file");
  const started = Date.now();
  await view.frame.waitForFunction(() => { const i = document.querySelector("img"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 60000 });
  figures.ms_result_to_image = Date.now() - started;
  const width = await view.frame.evaluate(() => document.querySelector("img").naturalWidth);
  assert.equal(width, 2048);
  await view.page.screenshot({ path: `${SHOTS}/view-image.png` });
  await clean(view);
  // Download sends ui/download-file with the file itself.
  await view.frame.getByRole("button", { name: /^Download/ }).first().click();
  await view.page.waitForFunction(() => window.__downloads.length === 1, null, { timeout: 60000 });
  const download = await view.page.evaluate(() => window.__downloads[0].contents[0]);
  assert.equal(download.type, "resource");
  assert.equal(download.resource.mimeType, "image/png");
  assert.ok(download.resource.blob.length > 1000000);
  await view.page.close();
});

test("a 6-image gallery shows as a grid, one opened at a time", async () => {
  const view = await shown("six_images", { side: 256 });
  await view.frame.waitForFunction(() => [...document.querySelectorAll(".grid img")].filter((i) => i.naturalWidth === 256).length === 6, null, { timeout: 60000 });
  await view.frame.locator(".grid figure").nth(2).click();
  await view.frame.waitForSelector(".open:not(.hidden) img");
  await view.page.screenshot({ path: `${SHOTS}/view-gallery-open.png` });
  await view.page.keyboard.press("Escape");
  await view.frame.waitForSelector(".open.hidden", { state: "attached" });
  // By keyboard: an image takes focus, Enter opens it, Escape closes it.
  await view.frame.focus(".grid img >> nth=4");
  await view.page.keyboard.press("Enter");
  await view.frame.waitForSelector(".open:not(.hidden) img");
  await view.page.keyboard.press("Escape");
  await view.frame.waitForSelector(".open.hidden", { state: "attached" });
  // One download for the whole gallery.
  assert.equal(await view.frame.getByRole("button", { name: "Download all (6)" }).count(), 1);
  await view.page.screenshot({ path: `${SHOTS}/view-gallery.png` });
  await clean(view);
  await view.page.close();
});

test("a host that relays no resources/read: the view reads the file through its own tool, in pieces", async () => {
  const view = await shown("big_image", { side: 2048 }, { relayResources: false, theme: "dark" });
  await view.frame.waitForFunction(() => { const i = document.querySelector("img"); return i && i.complete && i.naturalWidth === 2048; }, null, { timeout: 90000 });
  const pieces = await view.page.evaluate(() => window.__calls.filter((c) => c.name === "viewer_read_file").length);
  assert.ok(pieces >= 20, `the 12 MB file in 512 KiB pieces: ${pieces} calls`);
  // The host's theme is followed.
  const dark = await view.frame.evaluate(() => [document.documentElement.dataset.theme, getComputedStyle(document.body).backgroundColor]);
  assert.deepEqual(dark, ["dark", "rgb(27, 27, 29)"]);
  // No download button where the host offers no download.
  assert.equal(await view.frame.getByRole("button", { name: /^Download/ }).count(), 0);
  await view.page.screenshot({ path: `${SHOTS}/view-dark-pieces.png` });
  await clean(view);
  await view.page.close();
});

/** A player of `kind` in the view: its duration once loaded, and how far
 * it got in 700 ms of muted play. */
async function played(view, kind) {
  await view.frame.waitForFunction((k) => { const m = document.querySelector(k); return m && m.readyState >= 1; }, kind, { timeout: 60000 });
  return view.frame.evaluate(async (k) => {
    const m = document.querySelector(k); m.muted = true; await m.play();
    const start = m.currentTime; await new Promise((r) => setTimeout(r, 700));
    return { duration: m.duration, advanced: m.currentTime - start, width: m.videoWidth };
  }, kind);
}

test("20 s of speech plays", async () => {
  const view = await shown("long_audio", { seconds: 20 });
  const { duration, advanced } = await played(view, "audio");
  assert.ok(Math.abs(duration - 20) < 0.5, `duration ${duration}`);
  assert.ok(advanced > 0.2, `currentTime advanced ${advanced}`);
  await view.page.screenshot({ path: `${SHOTS}/view-audio.png` });
  await clean(view);
  await view.page.close();
});

test("a video plays", async () => {
  const view = await shown("clip", { seconds: 3 });
  const { duration, advanced, width } = await played(view, "video");
  assert.ok(Math.abs(duration - 3) < 0.3, `duration ${duration}`);
  assert.equal(width, 320);
  assert.ok(advanced > 0.2, `currentTime advanced ${advanced}`);
  await view.page.screenshot({ path: `${SHOTS}/view-video.png` });
  await clean(view);
  await view.page.close();
});

test("run again sends the same arguments, variations another seed", async () => {
  const args = { prompt: "a lighthouse", seed: 7, randomize_seed: false, width: 256, height: 256 };
  const view = await shown("paint", args);
  await view.frame.waitForFunction(() => document.querySelector("img")?.naturalWidth > 0, null, { timeout: 60000 });
  await view.frame.getByRole("button", { name: "Run again" }).click();
  await view.page.waitForFunction(() => window.__calls.some((c) => c.name === "paint"), null, { timeout: 60000 });
  const again = await view.page.evaluate(() => window.__calls.find((c) => c.name === "paint"));
  assert.deepEqual(again.arguments, args);
  await view.frame.waitForFunction(() => !document.querySelector("#actions button")?.disabled, null, { timeout: 60000 });
  await view.frame.getByRole("button", { name: "Variations" }).click();
  await view.page.waitForFunction(() => window.__calls.filter((c) => c.name === "paint").length === 2, null, { timeout: 60000 });
  const variation = await view.page.evaluate(() => window.__calls.filter((c) => c.name === "paint")[1]);
  assert.notEqual(variation.arguments.seed, 7);
  assert.equal(variation.arguments.prompt, "a lighthouse");
  await view.frame.getByRole("button", { name: "Open on the Space" }).click();
  await view.page.waitForFunction(() => window.__links.length === 1);
  await clean(view);
  await view.page.close();
});

test("a dropped picture reaches an image-to-image app", async () => {
  // First a picture to work on, then the person's own: a 300x200 PNG with
  // a red left half, dropped on the view. The app mirrors it.
  const view = await shown("mirror", { picture: "data:image/png;base64," + (await tinyPng()) });
  await view.frame.waitForSelector("#drop:not(.hidden)");
  const png = await tinyPng(300, 200);
  const dropped = await view.frame.evaluateHandle((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer(); dt.items.add(new File([bytes], "mine.png", { type: "image/png" })); return dt;
  }, png);
  await view.frame.dispatchEvent("#drop", "drop", { dataTransfer: dropped });
  await view.page.waitForFunction(() => window.__calls.some((c) => c.name === "mirror"), null, { timeout: 60000 });
  const call = await view.page.evaluate(() => window.__calls.find((c) => c.name === "mirror"));
  assert.match(call.arguments.picture, /^spaces-mcp:\/\/uploads\//);
  await view.frame.waitForFunction(() => { const i = document.querySelector("img"); return i && i.naturalWidth === 300; }, null, { timeout: 60000 });
  // Mirrored: the right edge is now red.
  const rightEdge = await view.frame.evaluate(() => {
    const i = document.querySelector("img"); const c = document.createElement("canvas"); c.width = i.naturalWidth; c.height = i.naturalHeight;
    const g = c.getContext("2d"); g.drawImage(i, 0, 0); return Array.from(g.getImageData(290, 100, 1, 1).data);
  });
  assert.ok(rightEdge[0] > 200 && rightEdge[1] < 50, `right edge ${rightEdge}`);
  await view.page.screenshot({ path: `${SHOTS}/view-dropped.png` });
  await clean(view);
  await view.page.close();
});

test("a ZeroGPU quota refusal is told in words, with the time to wait, and can be run again", async () => {
  const result = await host.client.callTool({ name: "quota_long", arguments: { prompt: "x" } });
  assert.ok(result.isError);
  const view = await host.show({ prompt: "x" }, result);
  await view.frame.waitForFunction(() => document.querySelector("#status.error")?.textContent.includes("GPU quota"), null, { timeout: 30000 });
  const status = await view.frame.evaluate(() => document.querySelector("#status").textContent);
  assert.match(status, /The Space's GPU quota is used up: try again in 10 min\./);
  assert.equal(await view.frame.evaluate(() => document.querySelector("#tool").textContent), "quota_long");
  assert.equal(await view.frame.getByRole("button", { name: "Run again" }).count(), 1);
  await view.page.screenshot({ path: `${SHOTS}/view-quota.png` });
  await clean(view);
  await view.page.close();
});

test("a client without the extension lists no app-only tool and no view", async () => {
  const plain = await connect(process.env.MCP_URL, { ui: false, name: "plain-client" });
  const tools = (await plain.listTools()).tools;
  assert.ok(!tools.some((t) => t.name.startsWith("viewer_")));
  assert.ok(!tools.some((t) => t._meta?.ui || t._meta?.["ui/resourceUri"]));
  const result = await plain.callTool({ name: "six_images", arguments: { side: 64 } });
  assert.equal(result._meta?.["spaces-mcp/view"], undefined);
  await assert.rejects(plain.callTool({ name: "viewer_read_file", arguments: { uri: "spaces-mcp://outputs/x" } }));
  await plain.close();
});

/** A PNG made here, in the browser-free way: a red left half, white right. */
async function tinyPng(width = 32, height = 32) {
  const { deflateSync } = await import("node:zlib");
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const red = x < width / 2;
      row[1 + x * 3] = 255; row[2 + x * 3] = red ? 0 : 255; row[3 + x * 3] = red ? 0 : 255;
    }
    rows.push(row);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]); const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = 8; ihdr[9] = 2;
  const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))), chunk("IEND", Buffer.alloc(0))]);
  return png.toString("base64");
}
