module xmpp-edge/bench/benchnet

go 1.24
