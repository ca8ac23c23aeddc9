// Small plan helpers for the network lab (test/lab/run.sh):
//
//   tsx test/lab/stack.ts derive --in FILE --out FILE [--set KEY=JSON]...
//       a copy of a stack file with some xmpp-edge: keys set (the tailnet
//       addresses the lab learns at run time, the Headscale login server and
//       key), so `scripts/plan.ts --config` renders exactly that stack.
//   tsx test/lab/stack.ts join --cloud-init FILE --out-dir DIR
//       takes the tailnet join out of a plan's cloud-init.yaml: the script
//       runcmd runs (written to DIR/join, its target path to DIR/join-path) and
//       the auth key file that script reads (DIR/authkey-path, with the mode
//       cloud-init gives it in DIR/authkey-mode). Fails if the cloud-init has
//       no such script, or the script reads no key file cloud-init writes.
//   tsx test/lab/stack.ts file --cloud-init FILE --path PATH --out FILE
//       one file of the cloud-init's write_files (the sshd drop-in the lab's
//       vps sshd includes); fails if there is none at PATH.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as YAML from "yaml";
import { isSecretKey } from "../../model/config";

const PREFIX = "xmpp-edge:";

function die(msg: string): never {
  process.stderr.write(`test/lab/stack.ts: ${msg}\n`);
  process.exit(2);
}

function derive(args: string[]) {
  const { values } = parseArgs({ args, options: { in: { type: "string" }, out: { type: "string" }, set: { type: "string", multiple: true, default: [] } } });
  if (!values.in || !values.out) die("derive needs --in and --out");
  const doc = YAML.parseDocument(fs.readFileSync(values.in, "utf8"));
  for (const s of values.set ?? []) {
    const eq = s.indexOf("=");
    if (eq < 1) die(`--set ${s}: expected KEY=JSON`);
    // A secret goes in as `pulumi config set --secret` stores it: the plan then
    // knows it is set and encrypted (it never reads the value; the lab installs the key itself).
    const [key, value] = [s.slice(0, eq), JSON.parse(s.slice(eq + 1)) as unknown];
    doc.setIn(["config", PREFIX + key], isSecretKey(key) ? doc.createNode({ secure: value }) : value);
  }
  fs.mkdirSync(path.dirname(values.out), { recursive: true });
  fs.writeFileSync(values.out, `# Derived by test/lab/stack.ts from ${values.in}\n` + doc.toString({ lineWidth: 0 }));
}

interface WriteFile {
  path: string;
  content: string;
  permissions?: string;
}

function join(args: string[]) {
  const { values } = parseArgs({ args, options: { "cloud-init": { type: "string" }, "out-dir": { type: "string" } } });
  if (!values["cloud-init"] || !values["out-dir"]) die("join needs --cloud-init and --out-dir");
  const text = fs.readFileSync(values["cloud-init"], "utf8");
  if (!text.startsWith("#cloud-config\n")) die(`${values["cloud-init"]}: not a #cloud-config document`);
  const doc = YAML.parse(text) as { write_files?: WriteFile[]; runcmd?: (string | string[])[] };
  const files = doc.write_files ?? [];
  // The join is the runcmd entry that runs a script cloud-init writes.
  const run = (doc.runcmd ?? []).map((c) => (Array.isArray(c) ? c : [c]));
  const script = files.find((f) => run.some((c) => c.length === 1 && c[0] === f.path));
  if (!script) die(`${values["cloud-init"]}: no runcmd entry runs a file of write_files (runcmd: ${JSON.stringify(doc.runcmd)})`);
  const m = /--auth-key=file:(\S+)/.exec(script.content);
  if (!m) die(`${script.path}: no --auth-key=file:PATH in the join script`);
  const key = files.find((f) => f.path === m[1]);
  if (!key) die(`${script.path} reads ${m[1]}, which write_files does not write`);
  const out = values["out-dir"];
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "join"), script.content, { mode: parseInt(script.permissions ?? "0755", 8) });
  fs.writeFileSync(path.join(out, "join-path"), script.path + "\n");
  fs.writeFileSync(path.join(out, "authkey-path"), key.path + "\n");
  fs.writeFileSync(path.join(out, "authkey-mode"), (key.permissions ?? "0600") + "\n");
}

function file(args: string[]) {
  const { values } = parseArgs({ args, options: { "cloud-init": { type: "string" }, path: { type: "string" }, out: { type: "string" } } });
  if (!values["cloud-init"] || !values.path || !values.out) die("file needs --cloud-init, --path and --out");
  const doc = YAML.parse(fs.readFileSync(values["cloud-init"], "utf8")) as { write_files?: WriteFile[] };
  const f = (doc.write_files ?? []).find((w) => w.path === values.path);
  if (!f) die(`${values["cloud-init"]}: write_files has no ${values.path}`);
  fs.writeFileSync(values.out, f.content);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "derive") derive(rest);
else if (cmd === "join") join(rest);
else if (cmd === "file") file(rest);
else die("usage: stack.ts derive --in FILE --out FILE [--set KEY=JSON]... | join --cloud-init FILE --out-dir DIR | file --cloud-init FILE --path PATH --out FILE");
