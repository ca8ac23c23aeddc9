// benchnet: the load generators, sinks and samplers of `npm run bench`
// (bench/run.sh). Standard library only, so it builds offline.
//
//	benchnet sink  [-tcp ADDRS] [-tls ADDRS -cert F -key F] [-pp ADDRS] [-udp ADDRS]
//	    TCP sinks: read until EOF, then answer the byte count (8 bytes, big
//	    endian) and close. -tls: the same inside TLS (ALPN xmpp-client,
//	    xmpp-server). -pp: first a PROXY v1 header, as Prosody's mod_net_proxy
//	    would take it. -udp: counts packets per run, answers "stat" packets.
//	benchnet tput  -addr A [-secs S] [TLS flags]     one TCP stream, bytes the sink received / time
//	benchnet conns -addr A [-secs S] [-c N] [-src IP -nsrc K] [TLS flags]
//	    new connections: dial + TLS handshake per connection, closed at once;
//	    -c workers in parallel; rate, latency percentiles
//	benchnet udp   -addr A [-secs S] [-size B]        unpaced UDP packets; sent, received by the sink
//	benchnet turn  -server A -secret S -peer A [-secs S] [-size B]
//	    the same through a TURN relay: Allocate (REST shared-secret
//	    credentials), ChannelBind to the peer, ChannelData
//	benchnet rss   -netns FILE -out FILE [-every D]   RSS/PSS/CPU of the processes in a network namespace
//	benchnet idle, idlesink                           many idle TLS sessions (idle.go)
//	benchnet spoof, legit, xmppsink                   the flood bench (flood.go)
//
// TLS flags: -tls -sni NAME -alpn LIST -ca FILE. Results: one JSON line on stdout.
package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchnet sink|tput|conns|udp|turn|rss|idle|idlesink [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "sink":
		err = runSink(args)
	case "tput":
		err = runTput(args)
	case "conns":
		err = runConns(args)
	case "udp":
		err = runUDP(args)
	case "turn":
		err = runTurn(args)
	case "rss":
		err = runRSS(args)
	case "idle":
		err = runIdle(args)
	case "idlesink":
		err = runIdleSink(args)
	case "spoof":
		err = runSpoof(args)
	case "legit":
		err = runLegit(args)
	case "xmppsink":
		err = runXmppSink(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchnet %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func emit(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ---- sinks ------------------------------------------------------------------

// listenRetry binds, retrying while the port is still held by what was there before.
func listenRetry(network, addr string) (net.Listener, error) {
	var err error
	for i := 0; i < 50; i++ {
		var l net.Listener
		if l, err = net.Listen(network, addr); err == nil {
			return l, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

func runSink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	tcpAddrs := fs.String("tcp", "", "plain TCP sinks (comma-separated addresses)")
	tlsAddrs := fs.String("tls", "", "TLS sinks")
	ppAddrs := fs.String("pp", "", "plain TCP sinks that first read a PROXY v1 header")
	udpAddrs := fs.String("udp", "", "UDP packet counters")
	cert := fs.String("cert", "", "TLS certificate (PEM)")
	key := fs.String("key", "", "TLS key (PEM)")
	fs.Parse(args)

	var tlsCfg *tls.Config
	if *tlsAddrs != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{c}, NextProtos: []string{"xmpp-client", "xmpp-server", "http/1.1"}}
	}
	errs := make(chan error, 16)
	serve := func(addr string, mode string) {
		l, err := listenRetry("tcp", addr)
		if err != nil {
			errs <- err
			return
		}
		fmt.Fprintf(os.Stderr, "sink: %s on %s\n", mode, addr)
		for {
			c, err := l.Accept()
			if err != nil {
				errs <- err
				return
			}
			go handleSink(c, mode, tlsCfg)
		}
	}
	for _, a := range splitList(*tcpAddrs) {
		go serve(a, "tcp")
	}
	for _, a := range splitList(*ppAddrs) {
		go serve(a, "pp")
	}
	for _, a := range splitList(*tlsAddrs) {
		go serve(a, "tls")
	}
	for _, a := range splitList(*udpAddrs) {
		go func(a string) { errs <- udpSink(a) }(a)
	}
	return <-errs
}

var sinkErrors atomic.Int64

func handleSink(c net.Conn, mode string, tlsCfg *tls.Config) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	var rw io.ReadWriter = c
	switch mode {
	case "pp":
		// PROXY v1: "PROXY TCP4 a b p q\r\n", at most 107 bytes. Read it byte
		// by byte so nothing after it is consumed.
		var hdr []byte
		one := make([]byte, 1)
		for len(hdr) < 108 {
			if _, err := io.ReadFull(c, one); err != nil {
				return
			}
			hdr = append(hdr, one[0])
			if one[0] == '\n' {
				break
			}
		}
		if !bytes.HasPrefix(hdr, []byte("PROXY ")) || !bytes.HasSuffix(hdr, []byte("\r\n")) {
			fmt.Fprintf(os.Stderr, "sink: no PROXY header: %q\n", hdr)
			return
		}
	case "tls":
		tc := tls.Server(c, tlsCfg)
		if err := tc.Handshake(); err != nil {
			if sinkErrors.Add(1) <= 20 {
				fmt.Fprintf(os.Stderr, "sink: TLS handshake with %s: %v\n", c.RemoteAddr(), err)
			}
			return
		}
		rw = tc
		defer tc.Close()
	}
	// Frames: a 4-byte big-endian length, then that many bytes; length 0 ends
	// the stream. (No half-close: rinetd, for one, closes both ways on a FIN.)
	r := bufio.NewReaderSize(rw, 256<<10)
	var n int64
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n += 4
		l := int(binary.BigEndian.Uint32(hdr[:]))
		if l == 0 {
			break
		}
		k, err := r.Discard(l)
		n += int64(k)
		if err != nil {
			return
		}
	}
	var out [8]byte
	binary.BigEndian.PutUint64(out[:], uint64(n))
	rw.Write(out[:])
}

// UDP packets: "BNU1" + op + run id (8 bytes) [+ padding]. op 'D' data,
// 'S' stat request; the answer is "BNU1" 'R' run id + count (8 bytes).
var udpMagic = []byte("BNU1")

func udpSink(addr string) error {
	var pc net.PacketConn
	var err error
	for i := 0; i < 50; i++ {
		if pc, err = net.ListenPacket("udp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sink: udp on %s\n", addr)
	if uc, ok := pc.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20)
	}
	counts := map[uint64]uint64{}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		if n < 13 || !bytes.Equal(buf[:4], udpMagic) {
			continue
		}
		run := binary.BigEndian.Uint64(buf[5:13])
		switch buf[4] {
		case 'D':
			counts[run]++
		case 'S':
			reply := make([]byte, 21)
			copy(reply, udpMagic)
			reply[4] = 'R'
			binary.BigEndian.PutUint64(reply[5:13], run)
			binary.BigEndian.PutUint64(reply[13:21], counts[run])
			pc.WriteTo(reply, from)
		}
	}
}

// ---- TCP clients --------------------------------------------------------------

type tlsFlags struct {
	on   *bool
	pq   *bool
	sni  *string
	alpn *string
	ca   *string
}

func addTLSFlags(fs *flag.FlagSet) tlsFlags {
	return tlsFlags{
		on:   fs.Bool("tls", false, "TLS (the sink's certificate is verified against -ca)"),
		pq:   fs.Bool("pq", true, "offer Go's default key shares (X25519MLKEM768 too: a ClientHello of about 1.8 KB, two TCP segments); -pq=false: X25519 and P-256 only"),
		sni:  fs.String("sni", "", "server name (SNI and verification)"),
		alpn: fs.String("alpn", "", "ALPN protocols, comma-separated"),
		ca:   fs.String("ca", "", "CA certificate (PEM)"),
	}
}

func (t tlsFlags) config() (*tls.Config, error) {
	if !*t.on {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: *t.sni, NextProtos: splitList(*t.alpn)}
	if !*t.pq {
		cfg.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
	}
	if *t.ca != "" {
		pem, err := os.ReadFile(*t.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", *t.ca)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func runTput(args []string) error {
	fs := flag.NewFlagSet("tput", flag.ExitOnError)
	addr := fs.String("addr", "", "host:port")
	secs := fs.Float64("secs", 3, "seconds of sending")
	tf := addTLSFlags(fs)
	fs.Parse(args)
	cfg, err := tf.config()
	if err != nil {
		return err
	}
	raw, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer raw.Close()
	var conn net.Conn = raw
	if cfg != nil {
		tc := tls.Client(raw, cfg)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		tc.SetDeadline(time.Time{})
		if got := tc.ConnectionState().NegotiatedProtocol; *tf.alpn != "" && got == "" {
			return fmt.Errorf("no ALPN protocol negotiated")
		}
		conn = tc
	}
	// Frames of 128 KiB (see handleSink); a zero length ends the stream.
	buf := make([]byte, 128<<10)
	rand.Read(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	start := time.Now()
	end := start.Add(time.Duration(*secs * float64(time.Second)))
	var sent int64
	conn.SetWriteDeadline(end.Add(10 * time.Second))
	for time.Now().Before(end) {
		n, err := conn.Write(buf)
		sent += int64(n)
		if err != nil {
			return fmt.Errorf("write after %d bytes: %w", sent, err)
		}
	}
	if _, err := conn.Write([]byte{0, 0, 0, 0}); err != nil {
		return fmt.Errorf("end of stream: %w", err)
	}
	sent += 4
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var ack [8]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		return fmt.Errorf("no byte count from the sink: %w", err)
	}
	el := time.Since(start).Seconds()
	got := int64(binary.BigEndian.Uint64(ack[:]))
	if got != sent {
		return fmt.Errorf("sink counted %d bytes, %d sent", got, sent)
	}
	emit(map[string]any{"bytes": got, "secs": el, "mbit_s": float64(got) * 8 / el / 1e6})
	return nil
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

func runConns(args []string) error {
	fs := flag.NewFlagSet("conns", flag.ExitOnError)
	addr := fs.String("addr", "", "host:port")
	secs := fs.Float64("secs", 3, "seconds")
	workers := fs.Int("c", 1, "connections in flight")
	src := fs.String("src", "", "first source IPv4 address (empty: the kernel's choice); with -nsrc, consecutive addresses in turn")
	nsrc := fs.Int("nsrc", 1, "source addresses, from -src (spreads the load under a per-source rate limit)")
	tf := addTLSFlags(fs)
	fs.Parse(args)
	cfg, err := tf.config()
	if err != nil {
		return err
	}
	var first net.IP
	if *src != "" {
		if first = net.ParseIP(*src).To4(); first == nil {
			return fmt.Errorf("-src %q: not an IPv4 address", *src)
		}
	}
	var seq atomic.Int64
	type sample struct{ total, connect float64 }
	var mu sync.Mutex
	var samples []sample
	var nerr int
	var firstErr string
	start := time.Now()
	end := start.Add(time.Duration(*secs * float64(time.Second)))
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []sample
			lerr, lfirst := 0, ""
			for time.Now().Before(end) {
				t0 := time.Now()
				d := net.Dialer{Timeout: 5 * time.Second}
				if first != nil {
					d.LocalAddr = &net.TCPAddr{IP: nextIPv4(first, int(seq.Add(1))%*nsrc)}
				}
				c, err := d.Dial("tcp", *addr)
				if err != nil {
					lerr++
					if lfirst == "" {
						lfirst = err.Error()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				tc := time.Since(t0).Seconds()
				if cfg != nil {
					s := tls.Client(c, cfg)
					s.SetDeadline(time.Now().Add(5 * time.Second))
					err = s.Handshake()
					if err == nil && *tf.alpn != "" && s.ConnectionState().NegotiatedProtocol == "" {
						err = errors.New("no ALPN protocol negotiated")
					}
					if err != nil {
						lerr++
						if lfirst == "" {
							lfirst = err.Error()
						}
						c.Close()
						continue
					}
				}
				local = append(local, sample{time.Since(t0).Seconds(), tc})
				c.Close()
			}
			mu.Lock()
			samples = append(samples, local...)
			nerr += lerr
			if firstErr == "" {
				firstErr = lfirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	tot := make([]float64, len(samples))
	con := make([]float64, len(samples))
	for i, s := range samples {
		tot[i], con[i] = s.total*1000, s.connect*1000
	}
	sort.Float64s(tot)
	sort.Float64s(con)
	res := map[string]any{
		"ok": len(samples), "errors": nerr, "secs": el, "workers": *workers,
		"per_s":  float64(len(samples)) / el,
		"p50_ms": pct(tot, 50), "p90_ms": pct(tot, 90), "p99_ms": pct(tot, 99),
		"max_ms":         pct(tot, 100),
		"connect_p50_ms": pct(con, 50), "connect_p99_ms": pct(con, 99),
	}
	if firstErr != "" {
		res["first_error"] = firstErr
	}
	emit(res)
	if len(samples) == 0 {
		return fmt.Errorf("no connection completed: %s", firstErr)
	}
	return nil
}

// ---- UDP clients ----------------------------------------------------------------

func newRun() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

func udpPacket(op byte, run uint64, size int) []byte {
	if size < 13 {
		size = 13
	}
	p := make([]byte, size)
	copy(p, udpMagic)
	p[4] = op
	binary.BigEndian.PutUint64(p[5:13], run)
	return p
}

// blast sends data packets through send() for secs; then asks for the count
// with stat packets until ask() returns it.
func blast(secs float64, size int, send func([]byte) error, ask func(run uint64) (uint64, error)) error {
	run := newRun()
	pkt := udpPacket('D', run, size)
	start := time.Now()
	end := start.Add(time.Duration(secs * float64(time.Second)))
	var sent, sendErrs uint64
	for i := 0; ; i++ {
		if i&63 == 0 && !time.Now().Before(end) {
			break
		}
		if err := send(pkt); err != nil {
			sendErrs++ // ENOBUFS/ECONNREFUSED: the packet is gone
			continue
		}
		sent++
	}
	el := time.Since(start).Seconds()
	time.Sleep(300 * time.Millisecond) // queues drain
	recv, err := ask(run)
	if err != nil {
		return err
	}
	loss := 0.0
	if sent > 0 {
		loss = 1 - float64(recv)/float64(sent)
	}
	emit(map[string]any{"sent": sent, "send_errors": sendErrs, "recv": recv, "secs": el, "size": size,
		"sent_pps": float64(sent) / el, "recv_pps": float64(recv) / el, "loss": loss})
	return nil
}

func parseReply(b []byte, run uint64) (uint64, bool) {
	if len(b) >= 21 && bytes.Equal(b[:4], udpMagic) && b[4] == 'R' && binary.BigEndian.Uint64(b[5:13]) == run {
		return binary.BigEndian.Uint64(b[13:21]), true
	}
	return 0, false
}

func runUDP(args []string) error {
	fs := flag.NewFlagSet("udp", flag.ExitOnError)
	addr := fs.String("addr", "", "host:port")
	secs := fs.Float64("secs", 3, "seconds")
	size := fs.Int("size", 172, "UDP payload bytes (172: an RTP packet of G.711 20 ms)")
	fs.Parse(args)
	c, err := net.Dial("udp", *addr)
	if err != nil {
		return err
	}
	defer c.Close()
	send := func(p []byte) error { _, err := c.Write(p); return err }
	ask := func(run uint64) (uint64, error) {
		buf := make([]byte, 1500)
		for i := 0; i < 30; i++ {
			c.Write(udpPacket('S', run, 13))
			c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
			for {
				n, err := c.Read(buf)
				if err != nil {
					break
				}
				if v, ok := parseReply(buf[:n], run); ok {
					return v, nil
				}
			}
		}
		return 0, errors.New("the sink never answered the stat request")
	}
	return blast(*secs, *size, send, ask)
}

// ---- TURN (RFC 5766 over UDP, REST API shared-secret credentials) -------------------

const stunCookie = 0x2112A442

type stunAttr struct {
	typ uint16
	val []byte
}

func stunBuild(typ uint16, tx []byte, attrs []stunAttr, key []byte) []byte {
	var body []byte
	for _, a := range attrs {
		var h [4]byte
		binary.BigEndian.PutUint16(h[0:], a.typ)
		binary.BigEndian.PutUint16(h[2:], uint16(len(a.val)))
		body = append(body, h[:]...)
		body = append(body, a.val...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	msg := make([]byte, 20, 20+len(body)+24)
	binary.BigEndian.PutUint16(msg[0:], typ)
	binary.BigEndian.PutUint32(msg[4:], stunCookie)
	copy(msg[8:20], tx)
	msg = append(msg, body...)
	if key != nil {
		binary.BigEndian.PutUint16(msg[2:], uint16(len(body)+24))
		m := hmac.New(sha1.New, key)
		m.Write(msg)
		msg = append(msg, 0x00, 0x08, 0x00, 0x14)
		msg = append(msg, m.Sum(nil)...)
	} else {
		binary.BigEndian.PutUint16(msg[2:], uint16(len(body)))
	}
	return msg
}

type stunMsg struct {
	typ   uint16
	tx    []byte
	attrs map[uint16][]byte
}

func stunParse(b []byte) (*stunMsg, error) {
	if len(b) < 20 || b[0]&0xc0 != 0 || binary.BigEndian.Uint32(b[4:]) != stunCookie {
		return nil, errors.New("not STUN")
	}
	l := int(binary.BigEndian.Uint16(b[2:]))
	if 20+l > len(b) {
		return nil, errors.New("short STUN message")
	}
	m := &stunMsg{typ: binary.BigEndian.Uint16(b), tx: b[8:20], attrs: map[uint16][]byte{}}
	for p := b[20 : 20+l]; len(p) >= 4; {
		t, n := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
		if 4+n > len(p) {
			break
		}
		if _, seen := m.attrs[t]; !seen {
			m.attrs[t] = p[4 : 4+n]
		}
		n = (n + 3) &^ 3
		if 4+n > len(p) {
			break
		}
		p = p[4+n:]
	}
	return m, nil
}

func (m *stunMsg) errorCode() int {
	v := m.attrs[0x0009]
	if len(v) < 4 {
		return 0
	}
	return int(v[2]&7)*100 + int(v[3])
}

func xorAddr(ip net.IP, port int) []byte {
	ip4 := ip.To4()
	v := make([]byte, 8)
	v[1] = 0x01
	binary.BigEndian.PutUint16(v[2:], uint16(port)^uint16(stunCookie>>16))
	binary.BigEndian.PutUint32(v[4:], binary.BigEndian.Uint32(ip4)^stunCookie)
	return v
}

func runTurn(args []string) error {
	fs := flag.NewFlagSet("turn", flag.ExitOnError)
	server := fs.String("server", "", "TURN server host:port (UDP; with -tls-name, TLS over TCP)")
	tlsName := fs.String("tls-name", "", "TURN over TLS: the name sent as SNI (the edge routes it to coturn); the certificate is not verified, as the mobile clients do not")
	secret := fs.String("secret", "", "coturn static-auth-secret")
	peer := fs.String("peer", "", "peer host:port (IPv4) running a UDP sink")
	secs := fs.Float64("secs", 3, "seconds")
	size := fs.Int("size", 172, "UDP payload bytes")
	fs.Parse(args)
	pa, err := net.ResolveUDPAddr("udp4", *peer)
	if err != nil {
		return err
	}
	c, err := dialTurn(*server, *tlsName)
	if err != nil {
		return err
	}
	defer c.Close()
	// request sends msg (rebuilt per try) and waits for the answer with its transaction id.
	request := func(build func(tx []byte) []byte) (*stunMsg, error) {
		tx := make([]byte, 12)
		rand.Read(tx)
		msg := build(tx)
		for try := 0; try < 5; try++ {
			c.Write(msg)
			deadline := time.Now().Add(500 * time.Millisecond)
			for {
				b, err := c.Read(deadline)
				if err != nil {
					break
				}
				if m, err := stunParse(b); err == nil && bytes.Equal(m.tx, tx) {
					m.attrs = cloneAttrs(m.attrs)
					return m, nil
				}
			}
		}
		return nil, errors.New("no answer from the TURN server")
	}
	auth, key, err := turnAllocateAuth(request, *secret, fmt.Sprintf("%d:bench", time.Now().Add(time.Hour).Unix()), 2)
	if err != nil {
		return err
	}
	const channel = 0x4000
	m, err := request(func(tx []byte) []byte {
		return stunBuild(0x0009, tx, append([]stunAttr{{0x000C, []byte{0x40, 0x00, 0, 0}}, {0x0012, xorAddr(pa.IP, pa.Port)}}, auth()...), key[:])
	})
	if err != nil {
		return err
	}
	if m.typ != 0x0109 {
		return fmt.Errorf("ChannelBind failed: type %#x code %d %q", m.typ, m.errorCode(), m.attrs[0x0009])
	}
	frame := func(p []byte) []byte {
		f := make([]byte, 4, 4+len(p)+3)
		binary.BigEndian.PutUint16(f, channel)
		binary.BigEndian.PutUint16(f[2:], uint16(len(p)))
		f = append(f, p...)
		for len(f)%4 != 0 {
			f = append(f, 0)
		}
		return f
	}
	var dataFrame []byte
	send := func(p []byte) error {
		if dataFrame == nil {
			dataFrame = frame(p)
		}
		_, err := c.Write(dataFrame)
		return err
	}
	ask := func(run uint64) (uint64, error) {
		for i := 0; i < 30; i++ {
			c.Write(frame(udpPacket('S', run, 13)))
			deadline := time.Now().Add(150 * time.Millisecond)
			for {
				buf, err := c.Read(deadline)
				if err != nil {
					break
				}
				if n := len(buf); n >= 4 && binary.BigEndian.Uint16(buf) == channel {
					l := int(binary.BigEndian.Uint16(buf[2:]))
					if 4+l <= n {
						if v, ok := parseReply(buf[4:4+l], run); ok {
							return v, nil
						}
					}
				}
			}
		}
		return 0, errors.New("no stat answer from the peer through the relay")
	}
	err = blast(*secs, *size, send, ask)
	// Release the allocation (Refresh, lifetime 0).
	request(func(tx []byte) []byte {
		return stunBuild(0x0004, tx, append([]stunAttr{{0x000D, []byte{0, 0, 0, 0}}}, auth()...), key[:])
	})
	return err
}

// turnAllocateAuth allocates a UDP relay with coturn's REST credentials for
// user (an Allocate without them must get 401 first), retrying a stale
// nonce (438) up to staleNonceRetries times; it returns the attributes and
// key that authenticate the allocation's later requests.
func turnAllocateAuth(request func(build func(tx []byte) []byte) (*stunMsg, error), secret, user string, staleNonceRetries int) (func() []stunAttr, [16]byte, error) {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(user))
	pass := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	transport := stunAttr{0x0019, []byte{17, 0, 0, 0}}
	var key [16]byte
	m, err := request(func(tx []byte) []byte { return stunBuild(0x0003, tx, []stunAttr{transport}, nil) })
	if err != nil {
		return nil, key, err
	}
	if m.errorCode() != 401 {
		return nil, key, fmt.Errorf("unauthenticated Allocate: expected 401, got type %#x code %d", m.typ, m.errorCode())
	}
	realm, nonce := m.attrs[0x0014], m.attrs[0x0015]
	key = md5.Sum([]byte(user + ":" + string(realm) + ":" + pass))
	auth := func() []stunAttr {
		return []stunAttr{{0x0006, []byte(user)}, {0x0014, realm}, {0x0015, nonce}}
	}
	for try := 0; ; try++ {
		m, err = request(func(tx []byte) []byte {
			return stunBuild(0x0003, tx, append([]stunAttr{transport}, auth()...), key[:])
		})
		if err != nil {
			return nil, key, err
		}
		if m.errorCode() == 438 && try < staleNonceRetries {
			nonce = m.attrs[0x0015]
			continue
		}
		break
	}
	if m.typ != 0x0103 {
		return nil, key, fmt.Errorf("Allocate failed: type %#x code %d %q", m.typ, m.errorCode(), m.attrs[0x0009])
	}
	return auth, key, nil
}

// turnConn carries STUN messages and ChannelData to the TURN server: one
// datagram each over UDP; over TLS a stream that Read splits into them
// (RFC 8656 12.5: over TCP, ChannelData is padded to a multiple of 4).
type turnConn struct {
	udp    net.Conn
	stream net.Conn
	frames chan []byte
	buf    []byte
}

func dialTurn(server, tlsName string) (*turnConn, error) {
	if tlsName == "" {
		c, err := net.Dial("udp", server)
		if err != nil {
			return nil, err
		}
		if uc, ok := c.(*net.UDPConn); ok {
			uc.SetReadBuffer(1 << 20)
		}
		return &turnConn{udp: c, buf: make([]byte, 2048)}, nil
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", server,
		&tls.Config{ServerName: tlsName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	t := &turnConn{stream: c, frames: make(chan []byte, 4096)}
	go t.split(bufio.NewReaderSize(c, 1<<16))
	return t, nil
}

func (t *turnConn) split(r *bufio.Reader) {
	defer close(t.frames)
	head := make([]byte, 4)
	for {
		if _, err := io.ReadFull(r, head); err != nil {
			return
		}
		l := int(binary.BigEndian.Uint16(head[2:]))
		if head[0]&0xC0 == 0 {
			l += 16 // a STUN message: 20-byte header, the length counts the attributes
		} else {
			l = (l + 3) &^ 3
		}
		f := make([]byte, 4+l)
		copy(f, head)
		if _, err := io.ReadFull(r, f[4:]); err != nil {
			return
		}
		t.frames <- f
	}
}

func (t *turnConn) Write(b []byte) (int, error) {
	if t.udp != nil {
		return t.udp.Write(b)
	}
	return t.stream.Write(b)
}

// Read returns the next message or ChannelData frame, or an error at the deadline.
func (t *turnConn) Read(deadline time.Time) ([]byte, error) {
	if t.udp != nil {
		t.udp.SetReadDeadline(deadline)
		n, err := t.udp.Read(t.buf)
		return t.buf[:n], err
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case f, ok := <-t.frames:
		if !ok {
			return nil, io.EOF
		}
		return f, nil
	case <-timer.C:
		return nil, os.ErrDeadlineExceeded
	}
}

func (t *turnConn) Close() error {
	if t.udp != nil {
		return t.udp.Close()
	}
	return t.stream.Close()
}

func cloneAttrs(a map[uint16][]byte) map[uint16][]byte {
	out := make(map[uint16][]byte, len(a))
	for k, v := range a {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// ---- process footprint sampler ------------------------------------------------------

func runRSS(args []string) error {
	fs := flag.NewFlagSet("rss", flag.ExitOnError)
	netns := fs.String("netns", "", "network namespace file (/run/netns/NAME)")
	out := fs.String("out", "", "JSON lines, one per sample")
	every := fs.Duration("every", 250*time.Millisecond, "sampling interval")
	fs.Parse(args)
	var st syscall.Stat_t
	if err := syscall.Stat(*netns, &st); err != nil {
		return err
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	// CPU time is cumulative per group: a process that ends (socat's forked
	// children) keeps what it used, as of the last sample that saw it.
	type proc struct {
		group string
		ticks int64
	}
	live := map[string]proc{}
	dead := map[string]int64{}
	for {
		if err := syscall.Stat(*netns, &st); err != nil {
			w.Flush()
			return nil // the namespace is gone: the bench is over
		}
		groups := map[string]map[string]int64{}
		seen := map[string]bool{}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid := e.Name()
			if pid[0] < '0' || pid[0] > '9' {
				continue
			}
			if l, err := os.Readlink(filepath.Join("/proc", pid, "ns/net")); err != nil || l != want {
				continue
			}
			comm, start, rss, pss, cpu, ok := procInfo(pid)
			if !ok {
				continue
			}
			k := pid + "/" + start
			seen[k] = true
			live[k] = proc{comm, cpu}
			g := groups[comm]
			if g == nil {
				g = map[string]int64{}
				groups[comm] = g
			}
			g["n"]++
			g["rss_kb"] += rss
			g["pss_kb"] += pss
			g["cpu_ticks"] += cpu
		}
		for k, p := range live {
			if !seen[k] {
				dead[p.group] += p.ticks
				delete(live, k)
			}
		}
		for group, t := range dead {
			g := groups[group]
			if g == nil {
				g = map[string]int64{}
				groups[group] = g
			}
			g["cpu_ticks"] += t
		}
		b, _ := json.Marshal(map[string]any{"t": time.Now().UnixNano(), "g": groups})
		w.Write(b)
		w.WriteByte('\n')
		w.Flush()
		time.Sleep(*every)
	}
}

func procInfo(pid string) (comm, start string, rss, pss, cpu int64, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return
	}
	comm = s[i+1 : j]
	f := strings.Fields(s[j+1:])
	if len(f) < 20 {
		return
	}
	start = f[19]
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	cpu = ut + stt
	rss = statusKB(filepath.Join("/proc", pid, "status"), "VmRSS:")
	pss = statusKB(filepath.Join("/proc", pid, "smaps_rollup"), "Pss:")
	return comm, start, rss, pss, cpu, true
}

func statusKB(file, field string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line[len(field):])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
