// The host configuration push: one SSH session carries the whole bundle (on
// stdin) and applies it; a second connection confirms it, or the host reverts
// by itself. An unchanged bundle is no diff, so no SSH session at all.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "node:crypto";
import type { EdgeModel, HostFacts } from "../model/model";
import { renderVpsBundle } from "../render/bundle";
import { CONFIRM_COMMAND, parseTailnetReport, PUSH_COMMAND, REMOVE_COMMAND, renderPushScript } from "../render/push";
import { allPresent, derive } from "./maybe-absent";

export interface PushConnection {
  host: pulumi.Input<string>;
  port: number;
  user: string;
  /** Secret. */
  privateKey: pulumi.Input<string>;
  /** The host's public key, authorized_keys form: pinned by every connection. */
  hostKey: pulumi.Input<string>;
}

export type FactsInput = { [K in keyof HostFacts]: pulumi.Input<HostFacts[K]> };

export interface PushArgs {
  model: EdgeModel;
  facts: FactsInput;
  connection: PushConnection;
  /** Secret; default: generated (40 letters and digits). */
  turnSecret?: pulumi.Input<string>;
  /**
   * A host this stack created: changes when the server is replaced. Its id is
   * part of the push's stdin, so a new server gets the bundle by an in-place
   * update. (A replacement of the push would run its delete, REMOVE_COMMAND,
   * against the same address and host key, that is on the new server, right
   * after the new push.)
   */
  serverId?: pulumi.Input<string>;
  /** What must be done before the first connection: a new server's readiness (Vps.ready). */
  after?: pulumi.Resource[];
}

export const TURN_SECRET_LENGTH = 40;
export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export class Push extends pulumi.ComponentResource {
  readonly turnSecret: pulumi.Output<string>;
  /** The script on the push's stdin (secret: it holds the TURN secret). */
  readonly stdin: pulumi.Output<string>;
  readonly push: command.remote.Command;
  readonly confirm: command.remote.Command;
  /** The VPS's tailnet IPv4 as the confirm reported it (undefined: no tailscale there, or not yet). */
  readonly reportedTailnetIPv4: pulumi.Output<string | undefined>;

  constructor(name: string, args: PushArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xmpp-edge:index:Push", name, {}, opts);

    if (args.turnSecret !== undefined) {
      this.turnSecret = pulumi.secret(args.turnSecret);
    } else {
      const generated = new random.RandomPassword(`${name}-turn-secret`, { length: TURN_SECRET_LENGTH, special: false }, { parent: this, additionalSecretOutputs: ["result"] });
      this.turnSecret = pulumi.secret(generated.result);
    }

    const connection: command.types.input.remote.ConnectionArgs = {
      host: args.connection.host,
      port: args.connection.port,
      user: args.connection.user,
      privateKey: pulumi.secret(args.connection.privateKey),
      hostKey: args.connection.hostKey,
    };

    const script = pulumi.all([pulumi.output(args.facts), this.turnSecret, args.serverId]).apply(([facts, turnSecret, serverId]) =>
      // Without the addresses (a targeted update that leaves them out) there is no bundle to render.
      allPresent([facts.vpsIPv4, facts.homeIPv4, turnSecret])
        ? (serverId !== undefined ? `# xmpp-edge push to server ${serverId}\n` : "") + renderPushScript(renderVpsBundle(args.model, facts as HostFacts, turnSecret))
        : undefined,
    ) as pulumi.Output<string>;
    this.stdin = pulumi.secret(script);

    // create and update are the same command: a changed bundle is an
    // in-place update (triggers would replace, and so run the delete).
    // Should it ever be replaced (`pulumi up --replace` to re-push after a
    // failed confirm, or a provider-side replace), the removal must come
    // before the new apply, not after it on the same host.
    this.push = new command.remote.Command(
      `${name}-apply`,
      { connection, create: PUSH_COMMAND, update: PUSH_COMMAND, delete: REMOVE_COMMAND, stdin: this.stdin, addPreviousOutputInEnv: false },
      { parent: this, dependsOn: args.after ?? [], additionalSecretOutputs: ["stdin"], deleteBeforeReplace: true },
    );

    // A fresh connection proves the new configuration still lets us in; it
    // re-runs (by replacement, harmless: no delete) for every new bundle.
    this.confirm = new command.remote.Command(
      `${name}-confirm`,
      { connection, create: CONFIRM_COMMAND, triggers: [derive([this.stdin], sha256)], addPreviousOutputInEnv: false },
      { parent: this, dependsOn: [this.push] },
    );

    this.reportedTailnetIPv4 = this.confirm.stdout.apply((out) => parseTailnetReport(out ?? ""));

    this.registerOutputs({ confirmed: this.confirm.stdout });
  }
}
