/**
 * POST /legacy/ inside workerd: the refusals no real uploader can be made to send (they are
 * covered with twine in test/e2e/python-index.test.ts), and that an upload is one publish.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { UPLOAD_TOKEN } from "../fixtures/ceremony.js";
import { bootstrap, fetchWorker, getStatus, hex, repoState } from "./helpers.js";

const AUTH = { authorization: `Basic ${btoa(`__token__:${UPLOAD_TOKEN}`)}` };

/** A zip of stored members: enough for the METADATA reader, which does not check CRCs. */
function storedZip(files: Array<[string, string]>): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, text] of files) {
    const n = enc.encode(name);
    const data = enc.encode(text);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint32(18, data.length, true);
    local.setUint32(22, data.length, true);
    local.setUint16(26, n.length, true);
    const cd = new DataView(new ArrayBuffer(46));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint32(20, data.length, true);
    cd.setUint32(24, data.length, true);
    cd.setUint16(28, n.length, true);
    cd.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), n, data);
    central.push(new Uint8Array(cd.buffer), n);
    offset += 30 + n.length + data.length;
  }
  const cdSize = central.reduce((s, p) => s + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const metadata = (name: string, version: string) => `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nRequires-Python: >=3.9\n\n`;

async function uploadForm(fields: Record<string, string>, file: Uint8Array, filename: string): Promise<Response> {
  const form = new FormData();
  const sha256 = hex(await crypto.subtle.digest("SHA-256", file));
  for (const [k, v] of Object.entries({ ":action": "file_upload", protocol_version: "1", sha256_digest: sha256, ...fields })) form.append(k, v);
  form.append("content", new File([file], filename));
  return fetchWorker("/legacy/", { method: "POST", headers: AUTH, body: form });
}

describe("POST /legacy/ in workerd", () => {
  beforeAll(async () => {
    await bootstrap(4);
  });

  it("publishes a wheel, its .metadata and both pages in exactly one publish", async () => {
    const before = await getStatus();
    const wheel = storedZip([["demo_w-1.0.dist-info/METADATA", metadata("demo-w", "1.0")]]);
    const res = await uploadForm({ name: "demo-w", version: "1.0", filetype: "bdist_wheel" }, wheel, "demo_w-1.0-py3-none-any.whl");
    expect(res.status, await res.clone().text()).toBe(200);
    const after = await getStatus();
    expect(after.roles.timestamp.version).toBe(before.roles.timestamp.version + 1);
    expect(after.artifacts).toBe(before.artifacts + 4);
    const page = (await (await fetchWorker("/simple/demo-w/", { headers: { accept: "application/vnd.pypi.simple.v1+json" } })).json()) as {
      files: Array<{ "requires-python": string; "core-metadata": { sha256: string } }>;
    };
    expect(page.files[0]!["requires-python"]).toBe(">=3.9");
    const meta = await fetchWorker("/targets/packages/demo-w/demo_w-1.0-py3-none-any.whl.metadata");
    expect(hex(await crypto.subtle.digest("SHA-256", new Uint8Array(await meta.arrayBuffer())))).toBe(page.files[0]!["core-metadata"].sha256);
  });

  it.each([
    ["a METADATA naming another project", { name: "demo-w", version: "2.0" }, [["demo_w-2.0.dist-info/METADATA", metadata("other", "2.0")]], "metadata_mismatch"],
    ["a METADATA with another version", { name: "demo-w", version: "2.0" }, [["demo_w-2.0.dist-info/METADATA", metadata("demo-w", "2.1")]], "metadata_mismatch"],
    ["a wheel without METADATA", { name: "demo-w", version: "2.0" }, [["demo_w.py", "x = 1\n"]], "wheel_invalid"],
    ["an unsupported :action", { name: "demo-w", version: "2.0", ":action": "submit" }, [], "action_unsupported"],
    ["a filetype that is not the file's", { name: "demo-w", version: "2.0", filetype: "sdist" }, [], "filetype_invalid"],
    ["an invalid version", { name: "demo-w", version: "two" }, [], "version_invalid"],
  ] as Array<[string, Record<string, string>, Array<[string, string]>, string]>)("refuses %s with 400 and changes nothing", async (_, fields, files, code) => {
    const before = await repoState();
    const listed = (await env.BUCKET.list()).objects.length;
    const res = await uploadForm({ filetype: "bdist_wheel", ...fields }, storedZip(files), "demo_w-2.0-py3-none-any.whl");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(res.statusText).toBe(body.error.message);
    expect(await repoState()).toEqual(before);
    expect((await env.BUCKET.list()).objects.length).toBe(listed);
  });

  it("refuses a body that is not multipart/form-data", async () => {
    const plain = await fetchWorker("/legacy/", { method: "POST", headers: { ...AUTH, "content-type": "text/plain" }, body: "x" });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe("form_invalid");
  });
});
