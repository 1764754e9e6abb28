#!/usr/bin/env node
// Interop test server on @grpc/grpc-js (Node's http2, i.e. nghttp2): esp.interop.Echo
// (tests/protos/interop.proto), behaving exactly as interop_server.py does on Python grpcio.
//
// Usage: node interop_server.js [--port N]   (N = 0, the default, picks a free port)
//
// Binds 127.0.0.1, prints one line "listening on PORT" once it serves, and runs until SIGTERM or
// SIGINT, or until stdin is closed when stdin is a pipe or socket (so a test harness that dies
// takes the server with it; a background job whose stdin is /dev/null or a tty keeps running).
//
// Differences a client can see, all in what grpc-js itself sends (no interop case asserts any):
// content-type application/grpc+proto (grpcio: application/grpc); an empty grpc-message on OK
// (grpcio: none); the messages of an unknown method ("The server does not implement the method
// /PATH", grpcio "Method not found!"), of an oversize request ("Received message larger than max
// (N vs M)", grpcio "vs.") and of grpc-js's own deadline ("Deadline exceeded", grpcio "Deadline
// Exceeded"); a Unary call with no or two request messages is UNIMPLEMENTED (grpcio takes the
// first of two).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const WAIT_FOR_CANCEL_LIMIT_MS = 30000;
const OBSERVED_LIMIT_MS = 10000;
// As the Python server's server.stop(grace=1): calls in progress get this long after a stop.
const SHUTDOWN_GRACE_MS = 1000;
const MIB = 1024 * 1024;
const { status: Status } = grpc;
// The standard status codes, OK (0) to UNAUTHENTICATED (16); grpcio ends a call with any other
// code as UNKNOWN, and so does this server.
const MAX_STATUS_CODE = Status.UNAUTHENTICATED;
// A response_size payload repeats this (byte i = i % 251); Buffer.alloc repeats a Buffer fill.
const PATTERN = Buffer.from(Array.from({ length: 251 }, (_, i) => i));

const packageDefinition = protoLoader.loadSync(
    path.join(__dirname, '..', 'protos', 'interop.proto'),
    // As in interop_client.js: field names as in the proto, int64 as Number, absent fields as
    // their defaults (bytes as an empty Buffer; an absent message field, such as fail, is null).
    { keepCase: true, longs: Number, defaults: true });
const EchoService = grpc.loadPackageDefinition(packageDefinition).esp.interop.Echo.service;
// EchoRequest() in the Python server: every field at its default.
const EMPTY_REQUEST = EchoService.Unary.requestDeserialize(Buffer.alloc(0));

function responsePayload(request) {
    // The request's payload, or response_size bytes of the pattern when that is > 0.
    const size = request.response_size;
    return size > 0 ? Buffer.alloc(size, PATTERN) : request.payload;
}

// The message without its fields at their default value (0, empty bytes). protobufjs encodes
// every field set on the object, even to its default; protobuf's canonical encoding, and so
// grpcio's, leaves such fields out, and a client may count the bytes (a receive limit's message).
function canonical(message) {
    return Object.fromEntries(Object.entries(message).filter(([, value]) =>
        (Buffer.isBuffer(value) ? value.length > 0 : value !== 0)));
}

// The request's Failure if it asks for one (fail.code != 0), else null.
function failureOf(request) {
    return request.fail && request.fail.code !== 0 ? request.fail : null;
}

// Resolves once emitter emits any of the events (and stops listening for the others).
function oneOf(emitter, events) {
    return new Promise((resolve) => {
        const done = () => {
            for (const event of events) emitter.off(event, done);
            resolve();
        };
        for (const event of events) emitter.on(event, done);
    });
}

// Counts calls that ended by cancellation; Observed waits on it.
class CancelCounter {
    constructor() {
        this.count = 0;
        this.waiters = [];
    }

    add() {
        this.count++;
        this.waiters = this.waiters.filter(({ minimum, resolve }) => {
            if (this.count < minimum) return true;
            resolve();
            return false;
        });
    }

    // The count once it is >= minimum, or whatever it is after timeoutMs.
    async waitFor(minimum, timeoutMs) {
        if (this.count < minimum) {
            await new Promise((resolve) => {
                const waiter = { minimum, resolve };
                this.waiters.push(waiter);
                setTimeout(() => {
                    this.waiters = this.waiters.filter((other) => other !== waiter);
                    resolve();
                }, timeoutMs);
            });
        }
        return this.count;
    }
}

// Makes grpc-js's server look like grpcio's where a client can tell them apart:
// - grpc-js's server cannot compress responses: it frames every message with the compressed flag
//   0 and announces grpc-encoding identity. A call's handler asks for gzip by putting
//   grpc-encoding: gzip into its initial metadata (which then goes out with the headers,
//   replacing "identity"); from there on the call's responses are gzipped and framed with the
//   flag 1, except, as grpcio does, one that gzip does not make smaller (sent as is, flag 0).
//   That needs grpc-js internals: this must be the only interceptor, so that nextCall is
//   grpc-js's own call (BaseServerInterceptingCall), whose serializeMessage it replaces.
// - grpc-js ends an OK call with the message "OK"; grpcio with none.
function grpcioLike(methodDefinition, nextCall) {
    return new grpc.ServerInterceptingCall(nextCall, {
        sendStatus(status, next) {
            next(status.code === Status.OK ? { ...status, details: '' } : status);
        },
        sendMetadata(metadata, next) {
            if (metadata.get('grpc-encoding').includes('gzip')) {
                if (typeof nextCall.serializeMessage !== 'function') {
                    throw new Error('cannot compress: grpc-js no longer has ' +
                        'BaseServerInterceptingCall.serializeMessage (see grpcioLike)');
                }
                nextCall.serializeMessage = (value) => {
                    const message = methodDefinition.responseSerialize(value);
                    const compressed = zlib.gzipSync(message);
                    const [flag, body] = compressed.length < message.length
                        ? [1, compressed] : [0, message];
                    const frame = Buffer.allocUnsafe(5 + body.length);
                    frame.writeUInt8(flag, 0);
                    frame.writeUInt32BE(body.length, 1);
                    body.copy(frame, 5);
                    return frame;
                };
            }
            next(metadata);
        },
    });
}

function metadataOf(entries) {
    const metadata = new grpc.Metadata();
    for (const [key, value] of entries) metadata.add(key, value);
    return metadata;
}

// Per-call state shared by the handlers: metadata echo, compression, how the call ended.
class Call {
    // call: grpc-js's call object; callback: the Unary or ClientStream callback that takes the
    // response, or none when the responses are written to call (ServerStream, Bidi).
    constructor(call, cancels, callback = null) {
        this.call = call;
        this.callback = callback;
        this.headersSent = false;
        this.compress = false;
        this.finished = false; // the handler ended the call (OK or with a failure)
        this.over = false; // the call is over, however it ended
        // x- metadata comes back as sent; so does the authorization the server received, as
        // x-received-authorization (so a test can see what a proxy put there).
        this.echo = [];
        for (const [key, values] of Object.entries(call.metadata.toJSON())) {
            if (key.startsWith('x-')) this.echo.push(...values.map((value) => [key, value]));
        }
        for (const value of call.metadata.get('authorization')) {
            this.echo.push(['x-received-authorization', value]);
        }
        // grpc-js emits 'cancelled' once a call is over, however it ended, also after the status
        // the handler sent. A call ended by cancellation (client cancel or RST_STREAM, the
        // deadline, a broken connection) is one the handler did not end: the verdict grpcio's
        // RECV_CLOSE_ON_SERVER gives the Python server.
        this.ended = new Promise((resolve) => {
            call.once('cancelled', () => {
                this.over = true;
                if (!this.finished) cancels.add();
                resolve();
            });
        });
    }

    // Applies per-request options that affect the whole call.
    note(request) {
        // Only before the initial metadata goes out, which announces the compression (as with
        // grpcio): a later request can no longer switch it on.
        if (request.compress_response && !this.headersSent) this.compress = true;
    }

    // Builds a response; sends the echoing initial metadata first if not done yet.
    respond(request, index, messagesReceived, bytesReceived) {
        if (!this.headersSent) {
            const headers = metadataOf(this.echo);
            if (this.compress) headers.set('grpc-encoding', 'gzip'); // see grpcioLike
            this.call.sendMetadata(headers);
            this.headersSent = true;
        }
        return canonical({
            payload: responsePayload(request), index,
            messages_received: messagesReceived, bytes_received: bytesReceived,
        });
    }

    // Writes a response of a streaming call; waits while grpc-js's buffer is full (as the
    // Python handler's yield does) until it drains or the call is over.
    async send(response) {
        if (this.over) return;
        if (!this.call.write(response)) await oneOf(this.call, ['drain', 'close']);
    }

    // Ends the call OK, with the response if the call has a callback; the trailers echo.
    finish(response) {
        if (this.over || this.finished) return;
        this.finished = true;
        const trailers = metadataOf(this.echo);
        if (this.callback) this.callback(null, response, trailers);
        else this.call.end(trailers);
    }

    // Ends the call with the Failure's status; the trailers echo, plus the details if any.
    fail(failure) {
        if (this.over || this.finished) return;
        this.finished = true;
        const trailers = metadataOf(this.echo);
        if (failure.details && failure.details.length > 0) {
            trailers.add('grpc-status-details-bin', failure.details);
        }
        const code = Number.isInteger(failure.code) && failure.code >= 0 &&
            failure.code <= MAX_STATUS_CODE ? failure.code : Status.UNKNOWN;
        const status = { code, details: failure.message, metadata: trailers };
        if (this.callback) this.callback(status);
        else this.call.emit('error', status); // grpc-js sends it after the responses written
    }

    // Waits until the call is cancelled (at most WAIT_FOR_CANCEL_LIMIT_MS).
    async waitForCancel() {
        let timer;
        const limit = new Promise((resolve) => { timer = setTimeout(resolve, WAIT_FOR_CANCEL_LIMIT_MS); });
        await Promise.race([this.ended, limit]);
        clearTimeout(timer);
        if (!this.over) {
            this.fail({ code: Status.DEADLINE_EXCEEDED,
                message: 'wait_for_cancel: the call was not cancelled' });
        }
    }
}

// Reads the requests of a client-streaming call one at a time: next() resolves with the next
// request, or with null once the client has half-closed or the call is over. (The stream's async
// iterator would destroy the call when a handler leaves its loop early, before grpc-js has sent
// the status.)
function requestReader(call) {
    return async function next() {
        for (;;) {
            const request = call.read();
            if (request !== null) return request;
            if (call.readableEnded || call.destroyed) return null;
            await oneOf(call, ['readable', 'end', 'close']);
        }
    };
}

function echoHandlers(cancels) {
    return {
        async Unary(call, callback) {
            const echo = new Call(call, cancels, callback);
            const { request } = call;
            echo.note(request);
            if (failureOf(request)) return echo.fail(request.fail);
            if (request.wait_for_cancel) return echo.waitForCancel();
            return echo.finish(echo.respond(request, 0, 1, request.payload.length));
        },

        async ServerStream(call) {
            const echo = new Call(call, cancels);
            const { request } = call;
            echo.note(request);
            for (let i = 0; i < request.response_count; i++) {
                await echo.send(echo.respond(request, i, 1, request.payload.length));
            }
            if (failureOf(request)) return echo.fail(request.fail);
            if (request.wait_for_cancel) return echo.waitForCancel();
            return echo.finish();
        },

        async ClientStream(call, callback) {
            const echo = new Call(call, cancels, callback);
            const next = requestReader(call);
            let [count, received, last, firstFailure] = [0, 0, EMPTY_REQUEST, null];
            for (let request; (request = await next()) !== null;) {
                echo.note(request);
                count++;
                received += request.payload.length;
                last = request;
                firstFailure ??= failureOf(request);
                if (request.wait_for_cancel) return echo.waitForCancel();
            }
            if (firstFailure) return echo.fail(firstFailure);
            return echo.finish(echo.respond(last, 0, count, received));
        },

        async Bidi(call) {
            const echo = new Call(call, cancels);
            const next = requestReader(call);
            let received = 0;
            for (let index = 0, request; (request = await next()) !== null; index++) {
                echo.note(request);
                received += request.payload.length;
                if (failureOf(request)) return echo.fail(request.fail);
                if (request.wait_for_cancel) return echo.waitForCancel();
                await echo.send(echo.respond(request, index, index + 1, received));
            }
            return echo.finish(); // the client half-closed (or the call is over: a no-op)
        },

        async Observed(call, callback) {
            const cancelled = await cancels.waitFor(call.request.min_cancelled, OBSERVED_LIMIT_MS);
            callback(null, canonical({ cancelled }));
        },
    };
}

// grpc-js ignores what a handler returns, so an async handler's error would be an unhandled
// rejection (fatal): end the call with UNKNOWN instead, as grpcio does for a handler that raises.
function guarded(handlers) {
    return Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name,
        (call, callback) => handler(call, callback).catch((error) => {
            console.error(`${name}: ${error.stack}`);
            const status = { code: Status.UNKNOWN, details: `Exception calling application: ${error.message}` };
            if (callback) callback(status);
            else call.emit('error', status);
        })]));
}

// Stops when stdin reaches EOF, if stdin is a pipe or socket from a parent process.
function watchStdin(stop) {
    let stat;
    try {
        stat = fs.fstatSync(0);
    } catch {
        return; // no stdin at all
    }
    if (!stat.isFIFO() && !stat.isSocket()) return;
    process.stdin.on('data', () => {}); // read and discard
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
}

function parsePort(argv) {
    if (argv.length === 0) return 0;
    if (argv.length !== 2 || argv[0] !== '--port' || !/^\d+$/.test(argv[1])) return null;
    const port = Number(argv[1]);
    return port <= 65535 ? port : null;
}

function main() {
    const port = parsePort(process.argv.slice(2));
    if (port === null) {
        console.error('usage: node interop_server.js [--port N]   (N = 0 picks a free port)');
        process.exit(2);
    }
    const server = new grpc.Server({
        // The receive limit is grpc-js's default 4 MiB, as grpcio's (the oversize case relies on
        // it); sends are unlimited. Node's http2 does not set SO_REUSEPORT, so a second server on a
        // taken port fails instead of sharing it.
        'grpc.max_receive_message_length': 4 * MIB,
        'grpc.max_send_message_length': -1,
        interceptors: [grpcioLike],
    });
    server.addService(EchoService, guarded(echoHandlers(new CancelCounter())));
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error) {
            console.error(`cannot bind 127.0.0.1:${port}`);
            process.exit(1);
        }
        console.log(`listening on ${bound}`);

        let stopping = false;
        const stop = () => {
            if (stopping) return;
            stopping = true;
            // Calls still running after the grace period are cancelled.
            setTimeout(() => {
                server.forceShutdown();
                process.exit(0);
            }, SHUTDOWN_GRACE_MS).unref();
            server.tryShutdown(() => process.exit(0));
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        watchStdin(stop);
    });
}

main();
