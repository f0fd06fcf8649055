/**
 * One conformance suite for the `Transport` interface (src/lib/transport/types.ts), run against
 * every adapter, as automerge-repo does for its network adapters. The engine above relies on what
 * is checked here, whatever carries the bytes.
 *
 * An adapter gives `setup(count)`: `count` transports of one new room, none connected yet, and a
 * teardown. Where the adapter keeps a mailbox, the room is an account room whose key the
 * transports hold, and `outsider()` gives one more transport into it without the key. The interface has no "own id", so the suite learns each transport's peer id from what
 * the others see, which checks on the way that every peer names a transport the same way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { linkBound } from '../../src/lib/transport/link-plan';
import type { MailboxEntry, PeerId, Transport, TransportStatus } from '../../src/lib/transport/types';

export interface TransportHarness {
	/** Transports of one room that no other test uses, with the room's key; not connected yet. */
	transports: Transport[];
	/** Another transport into the same room, knowing its id but not its key; not connected yet. */
	outsider?(): Transport;
	/** Another transport into the same room, with its key, in mode 'mailbox'; not connected yet. */
	mailboxOnly?(): Transport;
	teardown(): unknown;
}

export type TransportSetup = (count: number) => Promise<TransportHarness>;

export interface TransportSuiteOptions {
	/** How long to wait for something that travels over the network (a connection, a message). */
	waitMs?: number;
	/** Whether the adapter's rendezvous point keeps a mailbox (`Transport.mailbox`). */
	mailbox?: boolean;
}

/** A transport with everything it emitted since before its `connect`. */
interface Watched {
	transport: Transport;
	connected: PeerId[];
	disconnected: PeerId[];
	messages: { peer: PeerId; data: Uint8Array }[];
	statuses: TransportStatus[];
	mailbox: MailboxEntry[];
}

function watch(transport: Transport): Watched {
	const watched: Watched = { transport, connected: [], disconnected: [], messages: [], statuses: [], mailbox: [] };
	transport.on('peer-connected', (peer) => watched.connected.push(peer));
	transport.on('peer-disconnected', (peer) => watched.disconnected.push(peer));
	transport.on('message', (message) => watched.messages.push(message));
	transport.on('status', (status) => watched.statuses.push(status));
	transport.on('mailbox', (entries) => watched.mailbox.push(...entries));
	return watched;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: string) => encoder.encode(value);
const bytes = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** Bytes with a pattern that does not repeat at chunk boundaries, so a reordered chunk shows. */
function patterned(length: number, seed: number): Uint8Array {
	const data = new Uint8Array(length);
	for (let i = 0; i < length; i++) data[i] = (i * 31 + seed) % 251;
	return data;
}

/** `N` times `T`, so that destructuring `open(3)` gives three defined values. */
type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N ? R : Tuple<T, N, [T, ...R]>;

function pause(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

export function runTransportConformance(name: string, setup: TransportSetup, options: TransportSuiteOptions = {}): void {
	const waitMs = options.waitMs ?? 2_000;

	describe(`Transport conformance: ${name}`, () => {
		const teardowns: (() => unknown)[] = [];
		afterEach(async () => {
			for (const teardown of teardowns.splice(0).reverse()) await teardown();
		});

		let harness: TransportHarness | undefined;

		async function open<N extends number>(count: N): Promise<Tuple<Watched, N>> {
			const opened = await setup(count);
			harness = opened;
			teardowns.push(() => opened.teardown());
			return opened.transports.map(watch) as Tuple<Watched, N>;
		}

		/** Resolves once `check` holds; fails naming what did not happen. */
		async function until(what: string, check: () => boolean): Promise<void> {
			const deadline = Date.now() + waitMs;
			while (!check()) {
				if (Date.now() > deadline) throw new Error(`${what}: not within ${waitMs} ms`);
				await pause(5);
			}
		}

		/**
		 * Connects the transports one after another, each once the ones before see each other, and
		 * returns the peer id of each: the one id that all the others have in `peers`.
		 */
		async function connectAll<T extends Watched[]>(watched: [...T]): Promise<{ [K in keyof T]: PeerId }> {
			for (const [i, { transport }] of watched.entries()) {
				transport.connect();
				const joined = watched.slice(0, i + 1);
				await until(`transports 1 to ${i + 1} connected to each other`, () => joined.every((w) => w.transport.peers.size === i));
			}
			return watched.map((_, i) => {
				const seenByOthers = watched.filter((_, j) => j !== i).map((w) => w.transport.peers);
				const common = [...seenByOthers[0]!].filter((peer) => seenByOthers.every((peers) => peers.has(peer)));
				expect(common, `the id every other transport has for transport ${i + 1}`).toHaveLength(1);
				return common[0]!;
			}) as { [K in keyof T]: PeerId };
		}

		/** Waits until `to` has `count` messages from `from`, and returns their data. */
		async function receive(to: Watched, from: PeerId, count: number): Promise<Uint8Array[]> {
			const fromPeer = () => to.messages.filter((message) => message.peer === from);
			await until(`${count} messages from ${from}`, () => fromPeer().length >= count);
			return fromPeer().map((message) => message.data);
		}

		it('says it is online once connected, with a status event', async () => {
			const [only] = await open(1);
			only.transport.connect();
			await until('status online', () => only.transport.status === 'online');
			expect(only.statuses.at(-1)).toBe('online');
		});

		it('lets two transports in one room see each other, both ways', async () => {
			const [a, b] = await open(2);
			const [idA, idB] = await connectAll([a, b]);
			expect(idA).not.toBe(idB);
			await until('both peer-connected events', () => a.connected.length > 0 && b.connected.length > 0);
			expect(a.connected).toEqual([idB]);
			expect(b.connected).toEqual([idA]);
			expect([...a.transport.peers]).toEqual([idB]);
			expect([...b.transport.peers]).toEqual([idA]);
		});

		it('has exactly one end of every channel as its initiator', async () => {
			const watched = await open(3);
			const ids = await connectAll(watched);
			for (const [i, mine] of watched.entries()) {
				for (const [j, theirs] of watched.entries()) {
					if (i >= j) continue;
					const ends = [mine.transport.isInitiator(ids[j]!), theirs.transport.isInitiator(ids[i]!)];
					expect(ends.filter(Boolean), `initiators of the channel ${i + 1}–${j + 1}`).toHaveLength(1);
				}
				expect(mine.transport.isInitiator('0123456789abcdef')).toBe(false);
			}
		});

		it('delivers messages whole and in send order, from an empty one to one of 200 KiB, both ways at once', async () => {
			const [a, b] = await open(2);
			const [idA, idB] = await connectAll([a, b]);
			const messages = (seed: number) => [
				new Uint8Array(0),
				new Uint8Array([2]),
				patterned(200 * 1024, seed),
				text('right after the big one'),
				patterned(16 * 1024 - 1, seed),
				patterned(16 * 1024, seed),
				patterned(16 * 1024 + 1, seed),
				new Uint8Array([3])
			];
			const fromA = messages(1);
			const fromB = messages(2);
			for (let i = 0; i < fromA.length; i++) {
				a.transport.send(idB, fromA[i]!);
				b.transport.send(idA, fromB[i]!);
			}
			for (const [sent, received] of [
				[fromA, await receive(b, idA, fromA.length)],
				[fromB, await receive(a, idB, fromB.length)]
			] as const) {
				// Lengths first for a readable failure; then bytes (a deep equality of 200 KiB is very slow).
				expect(received.map((data) => data.length)).toEqual(sent.map((data) => data.length));
				for (const [i, data] of received.entries()) expect(Buffer.compare(bytes(data), bytes(sent[i]!)), `message ${i + 1}`).toBe(0);
			}
		});

		it('ignores a message to a peer it does not know, and keeps working', async () => {
			const [a, b] = await open(2);
			const [idA, idB] = await connectAll([a, b]);
			expect(() => a.transport.send('0123456789abcdef', text('to nobody'))).not.toThrow();
			expect(() => a.transport.send('', text('to nobody'))).not.toThrow();
			a.transport.send(idB, text('still here'));
			const [received] = await receive(b, idA, 1);
			expect(decoder.decode(received)).toBe('still here');
		});

		it('connects each pair of three, and hands each message to the addressed peer only', async () => {
			const watched = await open(3);
			const ids = await connectAll(watched);
			for (const [i, { transport }] of watched.entries()) {
				expect([...transport.peers].sort()).toEqual(ids.filter((_, j) => j !== i).sort());
			}
			// Each sends a letter to each other, then a last one: once every last one is in, nothing is still on its way.
			for (const [i, { transport }] of watched.entries()) {
				for (const [j] of watched.entries()) if (i !== j) transport.send(ids[j]!, text(`${i}→${j}`));
			}
			for (const [i, { transport }] of watched.entries()) {
				for (const [j] of watched.entries()) if (i !== j) transport.send(ids[j]!, text('last'));
			}
			for (const [j, to] of watched.entries()) {
				for (const [i] of watched.entries()) {
					if (i === j) continue;
					const received = (await receive(to, ids[i]!, 2)).map((data) => decoder.decode(data));
					expect(received, `what ${j + 1} got from ${i + 1}`).toEqual([`${i}→${j}`, 'last']);
				}
				expect(to.messages, `all that ${j + 1} got`).toHaveLength(2 * (watched.length - 1));
			}
		});

		it('tells the others when one closes; the others keep talking', async () => {
			const [a, b, c] = await open(3);
			const [idA, idB, idC] = await connectAll([a, b, c]);
			c.transport.close();
			await until('peer-disconnected at the others', () => a.disconnected.length > 0 && b.disconnected.length > 0);
			expect(a.disconnected).toEqual([idC]);
			expect(b.disconnected).toEqual([idC]);
			expect([...a.transport.peers]).toEqual([idB]);
			expect([...b.transport.peers]).toEqual([idA]);
			expect(c.transport.peers.size).toBe(0);
			expect(() => a.transport.send(idC, text('too late'))).not.toThrow();
			a.transport.send(idB, text('just us'));
			const [received] = await receive(b, idA, 1);
			expect(decoder.decode(received)).toBe('just us');
		});

		it('in a room of 20, keeps each to at most the bound of channels, all connected through them, also once 5 have left', async () => {
			const watched = await open(20);
			// Each end of a channel says which transport it is: that is how the suite learns their ids.
			const names = new Map<PeerId, number>();
			for (const [i, { transport }] of watched.entries()) {
				transport.on('peer-connected', (peer) => transport.send(peer, text(`transport ${i}`)));
				transport.on('message', ({ peer, data }) => {
					const said = /^transport (\d+)$/.exec(decoder.decode(data));
					if (said) names.set(peer, Number(said[1]));
				});
			}
			/** What is wrong with the channels among `present` (their indexes), or undefined when nothing is. */
			const fault = (present: number[]): string | undefined => {
				const bound = linkBound(present.length);
				const edges = new Map(present.map((i) => [i, new Set<number>()]));
				for (const i of present) {
					const peers = watched[i]!.transport.peers;
					if (peers.size > bound) return `transport ${i} has ${peers.size} channels, over ${bound}`;
					for (const peer of peers) {
						const j = names.get(peer);
						if (j === undefined || !edges.has(j)) return `transport ${i} has a channel to ${j ?? 'a peer not named yet'}`;
						edges.get(i)!.add(j);
					}
				}
				for (const [i, ends] of edges) for (const j of ends) if (!edges.get(j)!.has(i)) return `${i} has a channel to ${j}, but not ${j} to ${i}`;
				const reached = new Set([present[0]!]);
				for (const i of reached) for (const j of edges.get(i)!) reached.add(j);
				return reached.size === present.length ? undefined : `only ${reached.size} of ${present.length} reachable`;
			};
			const settled = async (present: number[]) => {
				const deadline = Date.now() + 3 * waitMs;
				while (fault(present)) {
					if (Date.now() > deadline) throw new Error(`channels of ${present.length}: ${fault(present)}`);
					await pause(20);
				}
			};
			for (const { transport } of watched) transport.connect();
			const everyone = watched.map((_, i) => i);
			await settled(everyone);
			expect(Math.max(...watched.map((w) => w.transport.peers.size))).toBeLessThan(19);
			const leaving = [2, 5, 9, 13, 17];
			for (const i of leaving) watched[i]!.transport.close();
			await settled(everyone.filter((i) => !leaving.includes(i)));
		}, 8 * waitMs);

		if (options.mailbox) {
			const one = { id: 'entry-one-0001', data: patterned(300, 1) };
			const two = { id: 'entry-two-0002', data: patterned(40, 2) };

			it('keeps a deposited entry for a transport that connects later, until one takes it', async () => {
				const [writer, first, later] = await open(3);
				for (const { transport } of [writer, first, later]) expect(transport.mailbox).toBeDefined();
				writer.transport.connect();
				await until('writer online', () => writer.transport.status === 'online');
				writer.transport.mailbox!.deposit(one);
				writer.transport.mailbox!.deposit(two);

				first.transport.connect();
				await until('both entries at the first to come', () => first.mailbox.length >= 2);
				// The interface promises no order among entries.
				expect(first.mailbox.map((entry) => entry.id).sort()).toEqual([one.id, two.id]);
				for (const sent of [one, two]) {
					const received = first.mailbox.find((entry) => entry.id === sent.id)!;
					expect(Buffer.compare(bytes(received.data), bytes(sent.data)), sent.id).toBe(0);
				}
				first.transport.mailbox!.take([one.id]);

				// `later` has yet to open its own way to the rendezvous point, so the take is there first.
				later.transport.connect();
				await until('the entry nobody took, at the next to come', () => later.mailbox.length >= 1);
				expect(later.mailbox.map((entry) => entry.id)).toEqual([two.id]);
			});

			it('says when everything that waited was handed over, after the entries, and also when nothing waited', async () => {
				const [writer, reader, empty] = await open(3);
				writer.transport.connect();
				await until('writer online', () => writer.transport.status === 'online');
				expect(await writer.transport.mailbox!.deposit(one)).toBe(true);
				const seen: string[] = [];
				reader.transport.on('mailbox', (entries) => seen.push(...entries.map((entry) => entry.id)));
				const ended = new Promise<string[]>((resolve) => reader.transport.on('mailbox-end', () => resolve([...seen])));
				reader.transport.connect();
				expect(await ended).toEqual([one.id]);
				reader.transport.mailbox!.take([one.id]);
				await new Promise((resolve) => setTimeout(resolve, 100));
				const endedEmpty = new Promise<void>((resolve) => empty.transport.on('mailbox-end', () => resolve()));
				empty.transport.connect();
				await endedEmpty;
			});

			it('refuses a deposit or take from a transport that knows the room but not its key, and keeps what the room’s own left', async () => {
				const [writer, later] = await open(2);
				writer.transport.connect();
				await until('writer online', () => writer.transport.status === 'online');
				expect(await writer.transport.mailbox!.deposit(one)).toBe(true);

				expect(harness!.outsider, 'an adapter with a mailbox gives an outsider').toBeDefined();
				const outsider = watch(harness!.outsider!());
				outsider.transport.connect();
				await until('outsider online', () => outsider.transport.status === 'online');
				outsider.transport.mailbox!.take([one.id]);
				// Refused, by the adapter or by its rendezvous point; the take went first, so once these are answered it was handled.
				expect(await outsider.transport.mailbox!.deposit({ id: one.id, data: two.data })).toBe(false);
				expect(await outsider.transport.mailbox!.deposit(two)).toBe(false);

				later.transport.connect();
				await until('the entry at the next to come', () => later.mailbox.length >= 1);
				await pause(50);
				expect(later.mailbox.map((entry) => entry.id)).toEqual([one.id]);
				expect(Buffer.compare(bytes(later.mailbox[0]!.data), bytes(one.data))).toBe(0);
			});

			it('in mode “mailbox”, meets no one and is met by no one, yet takes and deposits', async () => {
				const [writer, reader, later] = await open(3);
				await connectAll([writer, reader]);
				expect(await writer.transport.mailbox!.deposit(one)).toBe(true);

				expect(harness!.mailboxOnly, 'an adapter with a mailbox gives a mailbox-only transport').toBeDefined();
				const quiet = watch(harness!.mailboxOnly!());
				const ended = new Promise<void>((resolve) => quiet.transport.on('mailbox-end', () => resolve()));
				quiet.transport.connect();
				await ended;
				expect(quiet.mailbox.map((entry) => entry.id)).toEqual([one.id]);
				quiet.transport.mailbox!.take([one.id]);
				expect(await quiet.transport.mailbox!.deposit(two)).toBe(true);
				await pause(waitMs / 10);
				expect(quiet.connected).toEqual([]);
				expect(writer.connected).toHaveLength(1);
				expect(reader.connected).toHaveLength(1);
				quiet.transport.close();
				await pause(waitMs / 10);
				expect(writer.disconnected).toEqual([]);
				expect(reader.disconnected).toEqual([]);

				later.transport.connect();
				await until('the entry the quiet one left, at the next to come', () => later.mailbox.length >= 1);
				await pause(50);
				expect(later.mailbox.map((entry) => entry.id)).toEqual([two.id]);
			});

			it('keeps an entry deposited right before the writer closes', async () => {
				const [writer, later] = await open(2);
				writer.transport.connect();
				await until('writer online', () => writer.transport.status === 'online');
				writer.transport.mailbox!.deposit(one);
				writer.transport.close();

				later.transport.connect();
				await until('the entry at the next to come', () => later.mailbox.length >= 1);
				expect(later.mailbox.map((entry) => entry.id)).toEqual([one.id]);
			});
		}
	});
}
