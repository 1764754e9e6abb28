#!/usr/bin/env node
// Interop test client on @grpc/grpc-js: runs one case against an esp.interop.Echo server.
//
// Usage: node interop_client.js --target HOST:PORT --case NAME
//            [--auth_token TOKEN] [--metadata KEY=VALUE ...] [--query NAME=VALUE ...]
//
// Prints "PASS NAME" and exits 0, or prints "FAIL NAME: ..." and exits 1.
// --auth_token sends "authorization: Bearer TOKEN" and each --metadata its entry with every call;
// the --query entries go, percent-encoded, into every call's :path as a query string
// (/esp.interop.Echo/Unary?key=VALUE), the way an API key can be sent in a URL.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const util = require('node:util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const TIMEOUT_MS = 10000;
// Observed itself may wait 10 s on the server; its deadline must outlast that so a missing
// cancellation shows up as a wrong count rather than as DEADLINE_EXCEEDED.
const OBSERVED_TIMEOUT_MS = 15000;
const MIB = 1024 * 1024;
const { status: Status } = grpc;

const packageDefinition = protoLoader.loadSync(
    path.join(__dirname, '..', 'protos', 'interop.proto'),
    // Field names as in the proto, int64 as Number, absent fields as their defaults.
    { keepCase: true, longs: Number, defaults: true });
const EchoService = grpc.loadPackageDefinition(packageDefinition).esp.interop.Echo.service;

// "?a=1&b=x%20y" from --query, or "": appended to every call's path. grpc-js sends a method's
// path as the :path header exactly as given, but takes it from the service definition (an
// interceptor cannot change it), so the client class is made from a copy with longer paths.
let query = '';
let EchoClient = grpc.makeGenericClientConstructor(EchoService, 'Echo');

function withQuery(methodPath) {
    return methodPath + query;
}

// Every character but A-Z a-z 0-9 - . _ ~ percent-encoded (RFC 3986); encodeURIComponent leaves
// ! ' ( ) * alone.
function percentEncode(text) {
    return encodeURIComponent(text).replace(/[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

class CaseFailed extends Error {}

function show(value) {
    if (Buffer.isBuffer(value)) {
        return value.length > 64
            ? `<${value.length} bytes starting ${value.subarray(0, 16).toString('hex')}>`
            : `<Buffer ${value.toString('hex')}>`;
    }
    return util.inspect(value, { depth: 4, breakLength: Infinity });
}

function expectEqual(what, expected, got) {
    const same = Buffer.isBuffer(expected) && Buffer.isBuffer(got)
        ? expected.equals(got)
        : util.isDeepStrictEqual(expected, got);
    if (!same) throw new CaseFailed(`${what}: expected ${show(expected)}, got ${show(got)}`);
}

function statusName(code) {
    return Object.keys(Status).find((name) => Status[name] === code) ?? String(code);
}

// Awaits promise, which must reject with a gRPC error of the given code; returns the error.
async function expectRpcError(what, code, promise) {
    let result;
    try {
        result = await promise;
    } catch (error) {
        if (error instanceof CaseFailed || error.code === undefined) throw error;
        if (error.code !== code) {
            throw new CaseFailed(`${what} status: expected ${statusName(code)}, ` +
                `got ${statusName(error.code)} (${JSON.stringify(error.details)})`);
        }
        return error;
    }
    throw new CaseFailed(
        `${what}: expected status ${statusName(code)}, got a result ${show(result)}`);
}

// A grpc-js callback that settles a promise.
function settle(resolve, reject) {
    return (error, value) => (error ? reject(error) : resolve(value));
}

function callOptions(timeoutMs = TIMEOUT_MS) {
    return { deadline: Date.now() + timeoutMs };
}

function pattern(size) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = i % 251;
    return bytes;
}

// Unary call; resolves with the response, initial metadata and trailing metadata,
// rejects with the grpc-js error (which carries code, details and the trailers as metadata).
function unary(client, request, { metadata = new grpc.Metadata(), timeoutMs } = {}) {
    return new Promise((resolve, reject) => {
        let headers;
        let response;
        const call = client.Unary(request, metadata, callOptions(timeoutMs), (error, value) => {
            if (error) reject(error);
            else response = value;
        });
        call.on('metadata', (received) => { headers = received; });
        // 'status' follows the callback and carries the trailers.
        call.on('status', ({ code, metadata }) => {
            if (code === Status.OK) resolve({ response, headers, trailers: metadata });
        });
    });
}

function clientStream(client, requests) {
    return new Promise((resolve, reject) => {
        const call = client.ClientStream(callOptions(), settle(resolve, reject));
        for (const request of requests) call.write(request);
        call.end();
    });
}

// Reads a stream to its end; received collects the responses even when it then fails.
async function readAll(stream, received = []) {
    for await (const response of stream) received.push(response);
    return received;
}

async function cancelledCount(client, minimum = 0) {
    const response = await new Promise((resolve, reject) => {
        client.Observed({ min_cancelled: minimum }, callOptions(OBSERVED_TIMEOUT_MS),
            settle(resolve, reject));
    });
    return response.cancelled;
}

// Observed must confirm the server counted at least one more cancelled call.
async function expectCancellationSeen(client, before) {
    const seen = await cancelledCount(client, before + 1);
    if (seen < before + 1) {
        throw new CaseFailed(`Observed: expected the server to count >= ${before + 1} ` +
            `cancelled calls, got ${seen}`);
    }
}

// ---- cases -----------------------------------------------------------------------------------

const cases = {
    async unary(client) {
        const { response } = await unary(client, { payload: Buffer.from('hello') });
        expectEqual('payload', Buffer.from('hello'), response.payload);
        expectEqual('index', 0, response.index);
        expectEqual('messages_received', 1, response.messages_received);
    },

    async server_stream(client) {
        const responses = await readAll(
            client.ServerStream({ payload: Buffer.from('s'), response_count: 5 }, callOptions()));
        expectEqual('response count', 5, responses.length);
        responses.forEach((response, i) => {
            expectEqual(`response ${i} index`, i, response.index);
            expectEqual(`response ${i} payload`, Buffer.from('s'), response.payload);
        });
    },

    async client_stream(client) {
        const payloads = [1, 2, 3, 4].map((n) => Buffer.alloc(n, 'a'));
        const response = await clientStream(client, payloads.map((payload) => ({ payload })));
        expectEqual('messages_received', 4, response.messages_received);
        expectEqual('bytes_received', 10, response.bytes_received);
        expectEqual('payload', payloads[3], response.payload);
    },

    async bidi(client) {
        const call = client.Bidi(callOptions());
        const status = new Promise((resolve) => call.on('status', resolve));
        const responses = call[Symbol.asyncIterator]();
        let received = 0;
        for (let i = 0; i < 3; i++) {
            const payload = Buffer.from(`ping ${i}`);
            call.write({ payload });
            const { value, done } = await responses.next();
            if (done) throw new CaseFailed(`response ${i}: expected a response, got the end`);
            expectEqual(`response ${i} payload`, payload, value.payload);
            expectEqual(`response ${i} index`, i, value.index);
            expectEqual(`response ${i} messages_received`, i + 1, value.messages_received);
            received += payload.length;
            expectEqual(`response ${i} bytes_received`, received, value.bytes_received);
        }
        call.end();
        const rest = await responses.next();
        expectEqual('stream end after half-close', true, rest.done);
        expectEqual('status', 'OK', statusName((await status).code));
    },

    async empty_stream(client) {
        const response = await clientStream(client, []);
        expectEqual('ClientStream messages_received', 0, response.messages_received);

        const call = client.ServerStream({ response_count: 0 }, callOptions());
        const status = new Promise((resolve) => call.on('status', resolve));
        expectEqual('ServerStream responses', [], await readAll(call));
        expectEqual('ServerStream status', 'OK', statusName((await status).code));
    },

    async error_status(client) {
        const fail = {
            code: Status.FAILED_PRECONDITION,
            message: 'bad thing: naïve ☃ 100% \n done',
            details: Buffer.from([0x00, 0x01, 0xff]),
        };
        const error = await expectRpcError('Unary', Status.FAILED_PRECONDITION,
            unary(client, { fail }));
        expectEqual('Unary message', fail.message, error.details);
        expectEqual('Unary grpc-status-details-bin', [fail.details],
            error.metadata.get('grpc-status-details-bin'));

        const received = [];
        const call = client.ServerStream(
            { response_count: 2, fail: { code: Status.NOT_FOUND } }, callOptions());
        await expectRpcError('ServerStream', Status.NOT_FOUND, readAll(call, received));
        expectEqual('ServerStream responses before the failure', 2, received.length);
    },

    async deadline(client) {
        const before = await cancelledCount(client);
        await expectRpcError('Unary with wait_for_cancel', Status.DEADLINE_EXCEEDED,
            unary(client, { wait_for_cancel: true }, { timeoutMs: 1000 }));
        await expectCancellationSeen(client, before);
    },

    async cancel_mid_stream(client) {
        const before = await cancelledCount(client);
        const call = client.Bidi(callOptions());
        const responses = call[Symbol.asyncIterator]();
        call.write({ payload: Buffer.from('first') });
        const first = await responses.next();
        expectEqual('first response payload', Buffer.from('first'), first.value?.payload);
        // Park the server mid-call, so that only the cancellation can end it: grpc-js (Node's
        // http2 close) cancels with END_STREAM then RST_STREAM, and a server still reading would
        // take the END_STREAM as a half-close and could finish OK before the reset arrives.
        // Waiting for the write puts this request on the wire ahead of both.
        await new Promise((resolve) => call.write({ wait_for_cancel: true }, resolve));
        call.cancel();
        await expectRpcError('Bidi after cancel', Status.CANCELLED, responses.next());
        await expectCancellationSeen(client, before);
    },

    async large_message(client) {
        const size = 4 * MIB - 64;
        const payload = crypto.randomBytes(size);
        const echoed = await unary(client, { payload });
        expectEqual('echoed payload', payload, echoed.response.payload);

        const sized = await unary(client, { response_size: size });
        expectEqual('response_size payload', pattern(size), sized.response.payload);
    },

    async oversize(client) {
        await expectRpcError('Unary with 5 MiB', Status.RESOURCE_EXHAUSTED,
            unary(client, { payload: Buffer.alloc(5 * MIB) }));
    },

    async gzip(client, target) {
        // grpc-js compresses requests per channel; 2 = gzip.
        const gzipClient = makeClient(target, { 'grpc.default_compression_algorithm': 2 });
        try {
            const payload = Buffer.from('compressible '.repeat(8192)).subarray(0, 100 * 1024);
            const { response } = await unary(gzipClient, { payload, compress_response: true });
            expectEqual('payload', payload, response.payload);
        } finally {
            gzipClient.close();
        }
    },

    async binary_metadata(client) {
        const text = 'hello';
        const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const metadata = new grpc.Metadata();
        metadata.add('x-text', text);
        metadata.add('x-data-bin', data);
        const { headers, trailers } = await unary(client, {}, { metadata });
        for (const [name, got] of [['initial', headers], ['trailing', trailers]]) {
            expectEqual(`${name} metadata x-text`, [text], got.get('x-text'));
            expectEqual(`${name} metadata x-data-bin`, [data], got.get('x-data-bin'));
        }
    },

    async unimplemented(client) {
        const identity = (bytes) => bytes; // raw bytes in and out
        const call = new Promise((resolve, reject) => {
            client.makeUnaryRequest(withQuery('/esp.interop.Echo/NoSuchMethod'), identity, identity,
                Buffer.from([1, 2]), callOptions(), settle(resolve, reject));
        });
        await expectRpcError('NoSuchMethod', Status.UNIMPLEMENTED, call);
    },

    // One Unary call; prints "RESULT <json>" with its status and the x- metadata that came back
    // (the Echo server echoes the x- request headers it received). Passes whatever the status.
    async report(client) {
        const echoed = (metadata) => {
            const result = {};
            for (const [key, values] of Object.entries(metadata ? metadata.toJSON() : {})) {
                if (key.startsWith('x-') && !key.endsWith('-bin')) result[key] = values.map(String);
            }
            return result;
        };
        const { code, details, headers, trailers, response } = await new Promise((resolve) => {
            let received;
            let headers;
            const call = client.Unary({ payload: Buffer.from('report') }, new grpc.Metadata(),
                callOptions(), (error, value) => { received = value; });
            call.on('metadata', (metadata) => { headers = metadata; });
            // 'status' follows the callback and carries the trailers.
            call.on('status', ({ code, details, metadata }) =>
                resolve({ code, details, headers, trailers: metadata, response: received }));
        });
        if (code === Status.OK) expectEqual('payload', Buffer.from('report'), response?.payload);
        console.log(`RESULT ${JSON.stringify({
            code: statusName(code), details: details ?? '',
            headers: echoed(headers), trailers: echoed(trailers),
        })}`);
    },

    async many_messages(client) {
        const count = 1000;
        const payloadOf = (i) => Buffer.alloc(100, `${i}`.padStart(4, '0'));
        const call = client.Bidi(callOptions());
        const reading = readAll(call); // reads concurrently with the writes below
        // As fast as possible: grpc-js buffers what the transport cannot take yet.
        for (let i = 0; i < count; i++) call.write({ payload: payloadOf(i) });
        call.end();
        const responses = await reading;
        expectEqual('response count', count, responses.length);
        responses.forEach((response, i) => {
            expectEqual(`response ${i} index`, i, response.index);
            expectEqual(`response ${i} payload`, payloadOf(i), response.payload);
            expectEqual(`response ${i} bytes_received`, (i + 1) * 100, response.bytes_received);
        });
    },
};

// [key, value] entries from --auth_token and --metadata, added to every call.
const extraMetadata = [];

function addMetadata(options, nextCall) {
    return new grpc.InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
            for (const [key, value] of extraMetadata) metadata.add(key, value);
            next(metadata, listener);
        },
    });
}

function makeClient(target, options = {}) {
    return new EchoClient(target, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': 8 * MIB,
        'grpc.max_send_message_length': -1,
        ...(extraMetadata.length > 0 ? { interceptors: [addMetadata] } : {}),
        ...options,
    });
}

function parseArgs(argv) {
    const args = { metadata: [], query: [] };
    for (let i = 0; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (value === undefined) return null;
        if (flag === '--metadata') {
            const separator = value.indexOf('=');
            if (separator <= 0) return null;
            args.metadata.push([value.slice(0, separator).toLowerCase(), value.slice(separator + 1)]);
        } else if (flag === '--query') {
            const separator = value.indexOf('=');
            if (separator <= 0) return null;
            args.query.push([value.slice(0, separator), value.slice(separator + 1)]);
        } else if (['--target', '--case', '--auth_token'].includes(flag)) {
            args[flag.slice(2)] = value;
        } else {
            return null;
        }
    }
    return args.target && args.case ? args : null;
}

function describe(error) {
    if (error instanceof CaseFailed) return error.message;
    if (error.code !== undefined) {
        return `unexpected RPC error ${statusName(error.code)}: ${JSON.stringify(error.details)}`;
    }
    return `unexpected ${error.stack}`;
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    if (!args || !Object.hasOwn(cases, args.case)) {
        console.error('usage: node interop_client.js --target HOST:PORT --case NAME ' +
            '[--auth_token TOKEN] [--metadata KEY=VALUE ...] [--query NAME=VALUE ...]\n' +
            `cases: ${Object.keys(cases).join(' ')}`);
        return 2;
    }
    extraMetadata.push(...args.metadata);
    if (args.query.length > 0) {
        query = '?' + args.query.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&');
        EchoClient = grpc.makeGenericClientConstructor(Object.fromEntries(Object.entries(EchoService)
            .map(([name, method]) => [name, { ...method, path: withQuery(method.path) }])), 'Echo');
    }
    if (args.auth_token !== undefined) extraMetadata.push(['authorization', `Bearer ${args.auth_token}`]);
    const client = makeClient(args.target);
    try {
        await cases[args.case](client, args.target);
        console.log(`PASS ${args.case}`);
        return 0;
    } catch (error) {
        console.log(`FAIL ${args.case}: ${describe(error)}`);
        return 1;
    } finally {
        client.close();
    }
}

// Exit explicitly: a cancelled or failed case may leave calls behind that keep the loop alive.
main().then((code) => process.exit(code));
