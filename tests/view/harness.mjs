// The MCP App host for the view's tests, written here: the official
// ext-apps AppBridge in a host page (bundled by esbuild, no download), the
// view in a sandboxed iframe on a second loopback origin that sends the
// spec's default CSP, and the official TypeScript client connected to
// spaces-mcp. The bridge's tools/call and resources/read go to that client
// (through Playwright bindings); open-link and download-file are recorded.
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const UI = "io.modelcontextprotocol/ui";
export const MIME = "text/html;profile=mcp-app";
// The spec's default CSP for a view that declares none.
export const DEFAULT_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' data:; connect-src 'none'";

function serve(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** An MCP client that declares the extension (or not, with `ui: false`). */
export async function connect(mcpUrl, { ui = true, name = "view-harness" } = {}) {
  const capabilities = ui ? { extensions: { [UI]: { mimeTypes: [MIME] } } } : {};
  const client = new Client({ name, version: "1" }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));
  return client;
}

export async function startHost(mcpUrl) {
  const client = await connect(mcpUrl);
  const tools = (await client.listTools()).tools;
  const withView = tools.find((t) => t._meta?.ui?.resourceUri);
  if (!withView) throw new Error("no tool declares a view");
  const uri = withView._meta.ui.resourceUri;
  const read = await client.readResource({ uri });
  const viewHtml = read.contents[0].text;
  const viewMime = read.contents[0].mimeType;

  const bridgeBundle = await esbuild.build({
    stdin: {
      contents: 'export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";',
      resolveDir: here,
    },
    bundle: true, format: "iife", globalName: "ExtApps", platform: "browser", write: false, logLevel: "silent",
  });
  const bridgeJs = bridgeBundle.outputFiles[0].text;

  const sandboxRequests = [];
  const sandbox = await serve((req, res) => {
    sandboxRequests.push(req.url);
    if (req.url === "/view.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": DEFAULT_CSP });
      res.end(viewHtml);
    } else {
      res.writeHead(404); res.end();
    }
  });
  const sandboxOrigin = `http://127.0.0.1:${sandbox.address().port}`;
  const hostPage = `<!doctype html><html><head><meta charset="utf-8"><title>host</title>
<style>body{margin:0;background:#ececf0}iframe{border:0;width:760px;height:980px;background:#fff}</style></head>
<body><script>${bridgeJs}</script><script>
window.__links = []; window.__downloads = []; window.__calls = [];
window.mount = async (toolInput, toolResult, theme, relayResources) => {
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts allow-same-origin");
  document.body.appendChild(iframe);
  // A host like VS Code relays no resources/read: no capability, no handler.
  const capabilities = relayResources
    ? { openLinks: {}, serverTools: {}, serverResources: {}, downloadFile: {}, updateModelContext: {} }
    : { openLinks: {}, serverTools: {}, updateModelContext: {} };
  const bridge = new ExtApps.AppBridge(null, { name: "spaces-mcp-test-host", version: "1" },
    capabilities, { hostContext: { theme: theme || "light" } });
  bridge.oncalltool = async (params) => { window.__calls.push(params); return await window.hostCallTool(params); };
  if (relayResources) bridge.onreadresource = async (params) => await window.hostReadResource(params);
  bridge.onopenlink = async (params) => { window.__links.push(params.url); return {}; };
  bridge.ondownloadfile = async (params) => { window.__downloads.push(params); return {}; };
  bridge.onupdatemodelcontext = async () => ({});
  bridge.oninitialized = () => {
    bridge.sendToolInput({ arguments: toolInput });
    window.__resultSentAt = performance.now();
    bridge.sendToolResult(toolResult);
  };
  await bridge.connect(new ExtApps.PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.src = ${JSON.stringify(sandboxOrigin + "/view.html")};
};
</script></body></html>`;
  const hostServer = await serve((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(hostPage);
  });
  const hostOrigin = `http://127.0.0.1:${hostServer.address().port}`;

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
  });
  const context = await browser.newContext({ viewport: { width: 780, height: 1000 } });
  // Every frame: CSP violations are kept where the test can read them.
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await context.exposeBinding("hostCallTool", async (_source, params) => client.callTool(params));
  await context.exposeBinding("hostReadResource", async (_source, params) => client.readResource(params));

  return {
    client, tools, uri, viewHtml, viewMime, sandboxOrigin, sandboxRequests,
    /** Opens a page with the view showing `result` of a call with `args`. */
    async show(args, result, { theme = "light", relayResources = true } = {}) {
      const page = await context.newPage();
      const requests = [];
      page.on("request", (r) => {
        if (r.frame() !== page.mainFrame()) requests.push(r.url());
      });
      await page.goto(hostOrigin);
      await page.evaluate(([a, r, t, relay]) => window.mount(a, r, t, relay), [args, result, theme, relayResources]);
      const frame = await (await page.waitForSelector("iframe")).contentFrame();
      await frame.waitForLoadState();
      return { page, frame, requests };
    },
    async close() {
      await browser.close();
      hostServer.close(); sandbox.close();
      await client.close();
    },
  };
}
