// What a real deploy sends the new server, for test/vm/run.sh:
//   OUT/user-data     components/vps.ts's user-data: the stack's renderCloudInit
//                     with the generated SSH host key and the tailnet auth key
//                     filled in (not the plan's placeholders); the VM boots it
//                     byte for byte
//   OUT/wait-command  components/vps.ts's WAIT_COMMAND (cloud-init finished)
//   OUT/authkey-path  where the user-data puts the auth key (the join deletes it)
//   tsx test/vm/user-data.ts --config STACK.yaml --host-key FILE --auth-key-file FILE --out DIR
// --host-key is an OpenSSH private key file with FILE.pub beside it (as
// ssh-keygen writes them); the public half goes in without its comment, the
// form tls.PrivateKey's publicKeyOpenssh has.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { WAIT_COMMAND } from "../../components/vps";
import { readStackFile } from "../../model/source";
import { AUTHKEY_PATH, renderCloudInit } from "../../render/cloud-init";
import { makePlan } from "../../render/plan";

const USAGE = "usage: tsx test/vm/user-data.ts --config STACK.yaml --host-key FILE --auth-key-file FILE --out DIR";
const { values } = parseArgs({
  options: { config: { type: "string" }, "host-key": { type: "string" }, "auth-key-file": { type: "string" }, out: { type: "string" } },
});
for (const k of ["config", "host-key", "auth-key-file", "out"] as const) {
  if (!values[k]) {
    process.stderr.write(`${USAGE}\nmissing --${k}\n`);
    process.exit(2);
  }
}

const plan = makePlan(readStackFile(values.config!), {});
const [type, base64] = fs.readFileSync(`${values["host-key"]}.pub`, "utf8").trim().split(/\s+/);
if (type !== "ssh-ed25519" || !base64) {
  process.stderr.write(`${values["host-key"]}.pub: expected an ssh-ed25519 public key\n`);
  process.exit(2);
}
const userData = renderCloudInit(plan.model, {
  hostKey: { privateKeyOpenssh: fs.readFileSync(values["host-key"]!, "utf8"), publicKeyOpenssh: `${type} ${base64}\n` },
  tailscaleAuthKey: fs.readFileSync(values["auth-key-file"]!, "utf8").trim(),
});
fs.mkdirSync(values.out!, { recursive: true });
fs.writeFileSync(path.join(values.out!, "user-data"), userData, { mode: 0o600 });
fs.writeFileSync(path.join(values.out!, "wait-command"), WAIT_COMMAND);
fs.writeFileSync(path.join(values.out!, "authkey-path"), AUTHKEY_PATH);
