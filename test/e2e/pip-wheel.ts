/** Real wheels and simple-API pages for the pip tests: a wheel is a zip with METADATA, WHEEL and RECORD, built by Python's zipfile. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Wheel {
  project: string;
  version: string;
  filename: string;
  bytes: Uint8Array;
  sha256: string;
  yanked?: string;
}

const BUILD = `
import base64, hashlib, sys, zipfile
project, version, out = sys.argv[1:4]
module = project.replace("-", "_")
dist = f"{module}-{version}.dist-info"
files = {
    f"{module}/__init__.py": f"VERSION = {version!r}\\n",
    f"{dist}/METADATA": f"Metadata-Version: 2.1\\nName: {project}\\nVersion: {version}\\n",
    f"{dist}/WHEEL": "Wheel-Version: 1.0\\nGenerator: tuf-edge-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = ""
for name, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record += f"{name},sha256={digest},{len(text.encode())}\\n"
files[f"{dist}/RECORD"] = record + f"{dist}/RECORD,,\\n"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in files.items():
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, text)
`;

export function buildWheel(dir: string, project: string, version: string, yanked?: string): Wheel {
  const filename = `${project.replace(/-/g, "_")}-${version}-py3-none-any.whl`;
  const out = join(dir, filename);
  execFileSync("python3", ["-c", BUILD, project, version, out]);
  const bytes = new Uint8Array(readFileSync(out));
  return { project, version, filename, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), yanked };
}

/** The PEP 503 page of one project, linking files the way tuf-edge pages do (../../targets/packages/...). */
export function projectPageHtml(project: string, wheels: readonly Wheel[]): string {
  const links = wheels.map((w) => {
    const yanked = w.yanked === undefined ? "" : ` data-yanked="${w.yanked}"`;
    return `<a href="../../targets/packages/${project}/${w.filename}#sha256=${w.sha256}"${yanked}>${w.filename}</a><br/>`;
  });
  return `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"><title>Links for ${project}</title></head>\n<body><h1>Links for ${project}</h1>\n${links.join("\n")}\n</body></html>\n`;
}

/** The PEP 691 JSON page of one project. */
export function projectPageJson(project: string, wheels: readonly Wheel[]): string {
  return JSON.stringify({
    meta: { "api-version": "1.0" },
    name: project,
    files: wheels.map((w) => ({
      filename: w.filename,
      url: `../../targets/packages/${project}/${w.filename}`,
      hashes: { sha256: w.sha256 },
      ...(w.yanked === undefined ? {} : { yanked: w.yanked || true }),
    })),
  });
}
