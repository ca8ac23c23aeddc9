import { MODULES_LOAD_PATH, renderVpsBundle } from "../../render/bundle";
import { renderSysctl, SYSCTL_PATH } from "../../render/sysctl";
import { FACTS, model } from "../fixtures";

const settings = () => Object.fromEntries(renderSysctl().split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.split(" = ")));

test("a TCP packet that is not a SYN starts no connection (no loose tracking)", () => {
  expect(settings()["net.netfilter.nf_conntrack_tcp_loose"]).toBe("0");
});

test("half-open connections leave conntrack within seconds, not minutes", () => {
  expect(settings()["net.netfilter.nf_conntrack_tcp_timeout_syn_recv"]).toBe("10");
  expect(settings()["net.netfilter.nf_conntrack_tcp_timeout_syn_sent"]).toBe("30");
});

test("conntrack is loaded at boot before the sysctl file, whose net.netfilter keys need it", () => {
  const bundle = renderVpsBundle(model(), FACTS, "s");
  expect(bundle[SYSCTL_PATH]).toBeDefined();
  expect(bundle[MODULES_LOAD_PATH].content.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(["nf_conntrack"]);
});
