using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Esp.Grpc.Server;

/// <summary>
/// A service to host: its generated descriptor and a typed handler per method. Methods of the
/// descriptor left without a handler answer UNIMPLEMENTED.
/// </summary>
public sealed class GrpcServiceDefinition
{
    private GrpcServiceDefinition(ServiceDescriptor descriptor, IReadOnlyDictionary<string, IServerMethod> methods)
    {
        Descriptor = descriptor;
        MethodsByPath = methods;
    }

    public ServiceDescriptor Descriptor { get; }

    /// <summary>Every method of the service by <c>:path</c>.</summary>
    internal IReadOnlyDictionary<string, IServerMethod> MethodsByPath { get; }

    public static Builder CreateBuilder(ServiceDescriptor descriptor) => new(descriptor);

    public sealed class Builder
    {
        private readonly ServiceDescriptor _descriptor;
        private readonly Dictionary<string, IServerMethod> _methods = new(StringComparer.Ordinal);

        internal Builder(ServiceDescriptor descriptor)
        {
            ArgumentNullException.ThrowIfNull(descriptor);
            _descriptor = descriptor;
        }

        public Builder AddUnary<TRequest, TResponse>(string name, UnaryServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            Add<TRequest, TResponse>(name, MethodType.Unary, handler);

        public Builder AddServerStreaming<TRequest, TResponse>(string name, ServerStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            Add<TRequest, TResponse>(name, MethodType.ServerStreaming, handler);

        public Builder AddClientStreaming<TRequest, TResponse>(string name, ClientStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            Add<TRequest, TResponse>(name, MethodType.ClientStreaming, handler);

        public Builder AddDuplexStreaming<TRequest, TResponse>(string name, DuplexStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            Add<TRequest, TResponse>(name, MethodType.DuplexStreaming, handler);

        public GrpcServiceDefinition Build()
        {
            var methods = new Dictionary<string, IServerMethod>(StringComparer.Ordinal);
            foreach (var method in _descriptor.Methods)
            {
                var path = Esp.Grpc.Methods.PathOf(method);
                methods[path] = _methods.GetValueOrDefault(path) ?? UnimplementedMethod.Instance;
            }
            return new GrpcServiceDefinition(_descriptor, methods);
        }

        private Builder Add<TRequest, TResponse>(string name, MethodType type, Delegate handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
        {
            ArgumentNullException.ThrowIfNull(handler);
            var method = _descriptor.FindMethodByName(name)
                ?? throw new ArgumentException($"Service {_descriptor.FullName} has no method '{name}'.", nameof(name));
            if (Esp.Grpc.Methods.TypeOf(method) != type)
                throw new ArgumentException($"{method.FullName} is {Esp.Grpc.Methods.TypeOf(method)}, not {type}.", nameof(name));
            Esp.Grpc.Methods.EnsureTypes<TRequest, TResponse>(method);
            _methods[Esp.Grpc.Methods.PathOf(method)] = new ServerMethod<TRequest, TResponse>(type, handler);
            return this;
        }
    }
}
