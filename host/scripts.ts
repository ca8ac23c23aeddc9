// The static host scripts every bundle may ship, read here beside them, so
// the renderers under render/ stay pure functions of the model and read no
// file: the on-host apply, and the TURN name's certificate tool (turnTls).
import * as fs from "node:fs";
import * as path from "node:path";

const read = (name: string) => fs.readFileSync(path.join(__dirname, name), "utf8");

export const APPLY_SCRIPT = read("xmpp-edge-apply");
export const TURN_CERT_TOOL = read("xmpp-edge-turn-cert");
