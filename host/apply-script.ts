// The on-host apply (host/xmpp-edge-apply) as every bundle ships it: a static
// script, read here beside it, so the renderers under render/ stay pure
// functions of the model and read no file.
import * as fs from "node:fs";
import * as path from "node:path";

export const APPLY_SCRIPT = fs.readFileSync(path.join(__dirname, "xmpp-edge-apply"), "utf8");
