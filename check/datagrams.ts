// Datagrams an allocation's transport has received (relayed data, or any
// other datagram a UDP socket gets), and a wait for one that matches: the
// UDP and the TLS transports keep them the same way.
import { withTimeout } from "./timed";

export interface Datagram {
  from: string;
  port: number;
  data: Buffer;
}

export class DatagramQueue {
  readonly items: Datagram[] = [];
  private onPush: (() => void) | undefined;

  push(d: Datagram): void {
    this.items.push(d);
    this.onPush?.();
  }

  /** The first datagram (received before or after the call) that matches, or a timeout naming `what`. */
  wait(match: (d: { from: string; data: Buffer }) => boolean, timeoutMs: number, what: string): Promise<Datagram> {
    return withTimeout(timeoutMs, what, new Promise<Datagram>((resolve) => {
      const look = () => {
        const d = this.items.find(match);
        if (d) resolve(d);
      };
      this.onPush = look;
      look();
    }));
  }
}
