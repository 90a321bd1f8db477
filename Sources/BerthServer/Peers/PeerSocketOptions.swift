import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Socket options of every peer connection, both directions, so a link that a silent network
/// cut left open but stuck is noticed in seconds rather than after TCP's retransmission
/// backoff (a measured 44 s): unacknowledged data, or unanswered keepalive probes on an idle
/// link, close the connection after `userTimeoutMilliseconds`, and the dialer redials.
enum PeerSocketOptions {
    /// Data unacknowledged this long closes the connection (`TCP_USER_TIMEOUT`).
    static let userTimeoutMilliseconds = 2_000
    /// An idle connection is probed after this long, then every `keepaliveIntervalSeconds`.
    static let keepaliveIdleSeconds = 1
    static let keepaliveIntervalSeconds = 1
    static let keepaliveProbes = 2
    /// A connection whose peer has not said hello within this long is closed.
    static let helloTimeout: TimeAmount = .seconds(2)

    #if os(Linux)
        private static let tcpUserTimeout: Int32 = 18  // TCP_USER_TIMEOUT
        private static let tcpKeepIdle: Int32 = 4  // TCP_KEEPIDLE
        private static let tcpKeepInterval: Int32 = 5  // TCP_KEEPINTVL
        private static let tcpKeepCount: Int32 = 6  // TCP_KEEPCNT
    #endif

    /// The options as (option, value) pairs for `ChannelOptions.socketOption`.
    static var all: [(ChannelOptions.Types.SocketOption, SocketOptionValue)] {
        var options: [(ChannelOptions.Types.SocketOption, SocketOptionValue)] = [
            (ChannelOptions.socketOption(.tcp_nodelay), 1), (ChannelOptions.socketOption(.so_keepalive), 1),
        ]
        #if os(Linux)
            let tcp = SocketOptionLevel(IPPROTO_TCP)
            options += [
                (.init(level: tcp, name: SocketOptionName(tcpUserTimeout)), userTimeoutMilliseconds),
                (.init(level: tcp, name: SocketOptionName(tcpKeepIdle)), keepaliveIdleSeconds),
                (.init(level: tcp, name: SocketOptionName(tcpKeepInterval)), keepaliveIntervalSeconds),
                (.init(level: tcp, name: SocketOptionName(tcpKeepCount)), keepaliveProbes),
            ]
        #endif
        return options
    }
}

extension ClientBootstrap {
    /// `PeerSocketOptions.all` on the dialed connection.
    func peerSocketOptions() -> ClientBootstrap {
        PeerSocketOptions.all.reduce(self) { $0.channelOption($1.0, value: $1.1) }
    }
}

extension ServerBootstrap {
    /// `PeerSocketOptions.all` on every accepted connection.
    func peerSocketOptions() -> ServerBootstrap {
        PeerSocketOptions.all.reduce(self) { $0.childChannelOption($1.0, value: $1.1) }
    }
}
