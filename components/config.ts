// Stack config for the Pulumi program: the engine's config through the same
// reader and validation as the offline plan (model/source.ts: loadConfig), so
// both accept the same stack files and fail with the same words. No rule
// lives here: a rule the deploy needs belongs to that one validation, so the
// plan refuses what the deploy would (test/components/deploy-rules.test.ts).
// Everything here runs before the first resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { SECRET_KEYS } from "../model/config";
import { buildModel, type EdgeModel } from "../model/model";
import { loadConfig, readEngineConfig } from "../model/source";

export interface StackSecrets {
  tailscaleAuthKey?: pulumi.Output<string>;
  sshPrivateKey?: pulumi.Output<string>;
  turnSecret?: pulumi.Output<string>;
}

export interface DeployConfig {
  model: EdgeModel;
  secrets: StackSecrets;
}

/** Loads and checks the stack config; throws ConfigError listing every problem. */
export function loadDeployConfig(cfg: pulumi.Config): DeployConfig {
  // Invalid config: exactly the plan's error.
  const config = loadConfig(readEngineConfig(pulumi.runtime.allConfig(), engineSecretTest()));
  const secrets: StackSecrets = {};
  for (const key of SECRET_KEYS) {
    const value = cfg.getSecret(key);
    if (value !== undefined) secrets[key] = value;
  }
  return { model: buildModel(config), secrets };
}

/**
 * Which keys the engine passed as secrets. @pulumi/pulumi keeps this
 * (PULUMI_CONFIG_SECRET_KEYS) behind runtime.isConfigSecret, exported but
 * not in its typings; without it no secret could be told from a plain value,
 * so the program refuses to run rather than guess.
 */
function engineSecretTest(): (fullKey: string) => boolean {
  const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: unknown }).isConfigSecret;
  if (typeof isConfigSecret !== "function") throw new Error("@pulumi/pulumi has no runtime.isConfigSecret: cannot tell secret config from plain; pin a version that has it (package.json)");
  return (key) => (isConfigSecret as (k: string) => boolean)(key) === true;
}
