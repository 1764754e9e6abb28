using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Esp.Grpc;

/// <summary>The four kinds of RPC.</summary>
public enum MethodType
{
    Unary,
    ClientStreaming,
    ServerStreaming,
    DuplexStreaming,
}

public static class Methods
{
    public static MethodType TypeOf(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (true, false) => MethodType.ClientStreaming,
            (false, true) => MethodType.ServerStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
    }

    /// <summary>The HTTP/2 <c>:path</c> of a method: <c>/package.Service/Method</c>.</summary>
    public static string PathOf(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return "/" + method.Service.FullName + "/" + method.Name;
    }

    /// <summary>A method from generated descriptors, checked against the message types given.</summary>
    public static Method<TRequest, TResponse> FromDescriptor<TRequest, TResponse>(MethodDescriptor method)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        EnsureTypes<TRequest, TResponse>(method);
        return new Method<TRequest, TResponse>(TypeOf(method), method.Service.FullName, method.Name);
    }

    /// <summary>Checks that a descriptor's message types are the CLR types a handler or client uses.</summary>
    internal static void EnsureTypes<TRequest, TResponse>(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.InputType.ClrType != typeof(TRequest) || method.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException(
                $"{method.FullName} takes {method.InputType.FullName} and returns {method.OutputType.FullName}, " +
                $"not {typeof(TRequest).Name} → {typeof(TResponse).Name}.", nameof(method));
        }
    }
}
