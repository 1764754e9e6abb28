using Xunit;

namespace Esp.Tests.Interop;

/// <summary>Our client ⇄ Node @grpc/grpc-js server (tests/peers/interop_server.js, on Node's http2).</summary>
public sealed class OurClientNodeServerTests(NodeEchoServerFixture server)
    : EchoClientCases(server.Address), IClassFixture<NodeEchoServerFixture>;
