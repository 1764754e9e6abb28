using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Esp.Grpc;

/// <summary>A method a client can call: its path, its kind and how to read its messages.</summary>
public sealed class Method<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    public Method(MethodType type, string serviceName, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Type = type;
        ServiceName = serviceName;
        Name = name;
        FullName = "/" + serviceName + "/" + name;
    }

    public MethodType Type { get; }

    public string ServiceName { get; }

    public string Name { get; }

    /// <summary>The <c>:path</c>: <c>/package.Service/Method</c>.</summary>
    public string FullName { get; }

    public MessageParser<TResponse> ResponseParser { get; } = new(() => new TResponse());

    public MessageParser<TRequest> RequestParser { get; } = new(() => new TRequest());
}
