/**
 * The signaling frames' limits from both sides (src/lib/transport/signaling-protocol.ts). Client
 * frames: for each field with a limit (room and peer ids, the room key, item ids and sizes,
 * signatures, take ids, frame size), the largest and strangest legal frame is written by the client
 * and parsed back whole by the server; one past each limit is refused by the client's writer
 * (SignalingFrameError, with the code the server would close for) and, sent anyway, by the server's
 * parser with the same code. Server frames: the largest legal ones are written and parsed back whole;
 * what a client refuses is refused with 'malformed' (the server's writer checks only their size, as
 * its frames are built from inputs it has checked), and one byte past the size limit on both sides.
 * Sizes count bytes of UTF-8, as the WebSocket carries them. Then what a hostile server or client
 * sends: nothing, JSON that is not an object, every prefix of a frame, bytes after it, unknown and
 * inherited type names, numbers where ids go.
 */
import { describe, expect, it } from 'vitest';
import {
	MAX_CLIENT_FRAME_BYTES,
	MAX_MAILBOX_ITEM_BYTES,
	MAX_SIGNALING_FRAME_BYTES,
	MAX_TAKE_IDS,
	MIN_MAILBOX_ITEM_BYTES,
	parseClientFrame,
	parseServerFrame,
	signMailboxOp,
	SignalingFrameError,
	writeClientFrame,
	writeServerFrame,
	type ClientFrame,
	type ServerFrame,
	type SignalingErrorCode
} from '../../src/lib/transport/signaling-protocol';
import { keyedRoom } from '../helpers/rooms';

const SELF = '0123456789abcdef';
const BOX = keyedRoom(new Uint8Array(32).fill(7));
const ROOM = BOX.room;
/** Every character a room or item id may have. */
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const id = (length: number) => ID_CHARS.repeat(3).slice(0, length);
/** base64url text of `bytes` sealed bytes: the shortest text that decodes to that many. */
const sealed = (bytes: number) => id(64).repeat(Math.ceil(bytes / 40)).slice(0, Math.ceil((bytes * 4) / 3));
const peer = (n: number) => n.toString(16).padStart(16, '0');
const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** What `run` ends in: 'accepted', or the code of the SignalingFrameError it throws (anything else fails the test). */
function outcome(run: () => unknown): SignalingErrorCode | 'accepted' {
	try {
		run();
		return 'accepted';
	} catch (error) {
		if (error instanceof SignalingFrameError) return error.code;
		throw error;
	}
}

const deposit = (fields: Partial<Extract<ClientFrame, { type: 'deposit' }>>) => signMailboxOp(BOX.auth, SELF, { type: 'deposit', room: ROOM, id: 'item-0001', data: sealed(MIN_MAILBOX_ITEM_BYTES), ...fields });
/** A frame of a shape the types do not allow, as a broken or hostile writer makes it. */
const strange = <T>(frame: unknown) => frame as T;

/** One row per limit of a client frame: the largest legal frames, and frames one past it. */
const CLIENT_LIMITS: { limit: string; largest: ClientFrame[]; past: ClientFrame[] }[] = [
	{
		limit: 'a room id of 16 to 128 characters of [A-Za-z0-9_-]',
		largest: [{ type: 'join', room: id(16) }, { type: 'join', room: id(128) }, { type: 'leave', room: id(128) }, { type: 'leave', room: '-'.repeat(16) }],
		past: [
			{ type: 'join', room: id(15) },
			{ type: 'join', room: id(129) },
			{ type: 'leave', room: `${id(31)}.` },
			{ type: 'leave', room: `${id(31)}é` },
			{ type: 'join', room: `${id(31)} ` },
			{ type: 'join', room: '' },
			strange({ type: 'join', room: 1e16 }),
			strange({ type: 'join' })
		]
	},
	{
		limit: 'a room key of 32 bytes as base64url (43 characters), and mailboxOnly only as true and only with it',
		largest: [
			{ type: 'join', room: ROOM, key: BOX.key },
			{ type: 'join', room: ROOM, key: BOX.key, mailboxOnly: true },
			{ type: 'join', room: ROOM, key: id(64).slice(21) }
		],
		past: [
			{ type: 'join', room: ROOM, key: BOX.key.slice(1) },
			{ type: 'join', room: ROOM, key: `${BOX.key}A` },
			{ type: 'join', room: ROOM, key: `${BOX.key.slice(1)}=` },
			{ type: 'join', room: ROOM, key: `+${BOX.key.slice(1)}` },
			strange({ type: 'join', room: ROOM, key: BOX.key, mailboxOnly: false }),
			strange({ type: 'join', room: ROOM, key: BOX.key, mailboxOnly: 'true' }),
			strange({ type: 'join', room: ROOM, mailboxOnly: true })
		]
	},
	{
		limit: 'a signal to a peer id of 16 lowercase hex digits, with an object for data',
		largest: [
			{ type: 'signal', room: ROOM, to: 'ffffffffffffffff', data: {} },
			{ type: 'signal', room: ROOM, to: SELF, data: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=Ωµ 👩‍👩‍👧 "quoted" \\ \u2028\u0000' } },
			{ type: 'signal', room: ROOM, to: SELF, data: { candidate: { candidate: 'candidate:1 1 udp 2113937151 10.0.0.1 5000 typ host', sdpMLineIndex: 0, nested: [null, [1e308]] } } }
		],
		past: [
			{ type: 'signal', room: ROOM, to: SELF.toUpperCase(), data: {} },
			{ type: 'signal', room: ROOM, to: SELF.slice(1), data: {} },
			{ type: 'signal', room: ROOM, to: `${SELF}0`, data: {} },
			{ type: 'signal', room: ROOM, to: 'ghijklmnopqrstuv', data: {} },
			strange({ type: 'signal', room: ROOM, to: SELF, data: [] }),
			strange({ type: 'signal', room: ROOM, to: SELF, data: null }),
			strange({ type: 'signal', room: ROOM, to: SELF, data: 'offer' }),
			strange({ type: 'signal', room: ROOM, to: SELF })
		]
	},
	{
		limit: 'an item id of 8 to 64 characters of [A-Za-z0-9_-]',
		largest: [deposit({ id: id(8) }), deposit({ id: id(64) }), deposit({ id: '--------' })],
		past: [deposit({ id: id(7) }), deposit({ id: id(65) }), deposit({ id: `${id(8)}.` }), deposit({ id: '' }), strange(deposit({ id: 12_345_678 as unknown as string }))]
	},
	{
		limit: `a deposit of ${MIN_MAILBOX_ITEM_BYTES} to ${MAX_MAILBOX_ITEM_BYTES} sealed bytes as base64url`,
		largest: [deposit({ data: sealed(MIN_MAILBOX_ITEM_BYTES) }), deposit({ data: sealed(MAX_MAILBOX_ITEM_BYTES) })],
		past: [
			deposit({ data: sealed(MIN_MAILBOX_ITEM_BYTES - 1) }),
			deposit({ data: sealed(MAX_MAILBOX_ITEM_BYTES + 1) }),
			deposit({ data: `${sealed(MAX_MAILBOX_ITEM_BYTES)}AA` }),
			// 57 characters: no base64url text has that length.
			deposit({ data: sealed(MIN_MAILBOX_ITEM_BYTES).padEnd(57, 'A') }),
			deposit({ data: `${sealed(MIN_MAILBOX_ITEM_BYTES)}==` }),
			deposit({ data: `+${sealed(MIN_MAILBOX_ITEM_BYTES)}` }),
			deposit({ data: '' })
		]
	},
	{
		limit: 'a signature of 64 bytes as base64url (86 characters), or none',
		largest: [deposit({}), { type: 'deposit', room: ROOM, id: 'item-0001', data: sealed(MIN_MAILBOX_ITEM_BYTES) }, { type: 'take', room: ROOM, ids: ['item-0001'], sig: id(64) + id(22) }],
		past: [
			{ ...deposit({}), sig: deposit({}).sig.slice(1) },
			{ ...deposit({}), sig: `${deposit({}).sig}A` },
			{ ...deposit({}), sig: `${deposit({}).sig.slice(2)}==` },
			{ type: 'take', room: ROOM, ids: [], sig: '' },
			strange({ type: 'take', room: ROOM, ids: [], sig: null })
		]
	},
	{
		limit: `a take of 0 to ${MAX_TAKE_IDS} item ids`,
		largest: [
			{ type: 'take', room: ROOM, ids: [] },
			{ type: 'take', room: ROOM, ids: Array.from({ length: MAX_TAKE_IDS }, (_, n) => `${n}`.padStart(8, 'i')) },
			signMailboxOp(BOX.auth, SELF, { type: 'take', room: ROOM, ids: [id(64), id(8)] })
		],
		past: [
			{ type: 'take', room: ROOM, ids: Array.from({ length: MAX_TAKE_IDS + 1 }, (_, n) => `${n}`.padStart(8, 'i')) },
			{ type: 'take', room: ROOM, ids: ['item-0001', id(65)] },
			{ type: 'take', room: ROOM, ids: [''] },
			strange({ type: 'take', room: ROOM, ids: 'item-0001' }),
			strange({ type: 'take', room: ROOM, ids: [12_345_678] }),
			strange({ type: 'take', room: ROOM })
		]
	},
	{
		limit: 'a frame of a type the client sends',
		largest: [{ type: 'leave', room: ROOM }],
		past: [strange({ type: 'welcome', room: ROOM, self: SELF }), strange({ type: 'JOIN', room: ROOM }), strange({ room: ROOM }), strange({ type: ['join'], room: ROOM }), strange({ type: 'toString', room: ROOM })]
	}
];

describe('client frames at and just past their limits', () => {
	for (const { limit, largest, past } of CLIENT_LIMITS) {
		it(`${limit}: the largest is parsed back whole by the server; one past is refused by the client's writer, and sent anyway, closes as malformed`, () => {
			for (const frame of largest) expect(parseClientFrame(writeClientFrame(frame))).toEqual(frame);
			for (const frame of past) {
				const shown = JSON.stringify(frame).slice(0, 100);
				expect(outcome(() => writeClientFrame(frame)), shown).toBe('malformed');
				expect(outcome(() => parseClientFrame(JSON.stringify(frame))), shown).toBe('malformed');
			}
		});
	}

	/** A signal frame whose JSON text is `bytes` bytes of UTF-8, its data made of `fill`. */
	function signalOf(bytes: number, fill: string): ClientFrame {
		const empty = JSON.stringify({ type: 'signal', room: ROOM, to: SELF, data: { sdp: '' } }).length;
		const fillBytes = utf8Bytes(fill);
		const rest = bytes - empty;
		const sdp = fill.repeat(Math.floor(rest / fillBytes)) + 'x'.repeat(rest % fillBytes);
		return { type: 'signal', room: ROOM, to: SELF, data: { sdp } };
	}

	for (const [name, fill] of [
		['ASCII', 'x'],
		['2-byte characters', 'é'],
		['3-byte characters', '€'],
		['4-byte characters (two UTF-16 units each)', '😀']
	] as const) {
		it(`a signal of ${name} is written at exactly ${MAX_CLIENT_FRAME_BYTES} bytes, the server's default limit, and refused one byte past it`, () => {
			const largest = signalOf(MAX_CLIENT_FRAME_BYTES, fill);
			const text = writeClientFrame(largest);
			expect(utf8Bytes(text)).toBe(MAX_CLIENT_FRAME_BYTES);
			expect(parseClientFrame(text)).toEqual(largest);
			expect(outcome(() => writeClientFrame(signalOf(MAX_CLIENT_FRAME_BYTES + 1, fill)))).toBe('too-large');
		});
	}
});

/** `{`, then `fill` repeated and spaces, then `tail`: exactly `bytes` bytes of UTF-8. */
function padded(tail: string, bytes: number, fill: string): string {
	const room = bytes - 1 - utf8Bytes(tail);
	const count = Math.floor(room / utf8Bytes(fill));
	return `{${fill.repeat(count)}${' '.repeat(room - count * utf8Bytes(fill))}${tail}`;
}

describe('frame size as either parser counts it', () => {
	const leave = `"type":"leave","room":"${ROOM}"}`;
	const end = `"type":"mailbox-end","room":"${ROOM}"}`;
	for (const [name, fill] of [
		['ASCII', ' '],
		['2-byte characters', '"é":1,'],
		['4-byte characters', '"😀":1,']
	] as const) {
		it(`a frame padded with ${name} is parsed at exactly ${MAX_SIGNALING_FRAME_BYTES} bytes, and refused as too large one byte past it`, () => {
			const client = padded(leave, MAX_SIGNALING_FRAME_BYTES, fill);
			const server = padded(end, MAX_SIGNALING_FRAME_BYTES, fill);
			expect([utf8Bytes(client), utf8Bytes(server)]).toEqual([MAX_SIGNALING_FRAME_BYTES, MAX_SIGNALING_FRAME_BYTES]);
			expect(parseClientFrame(client)).toEqual({ type: 'leave', room: ROOM });
			expect(parseServerFrame(server)).toEqual({ type: 'mailbox-end', room: ROOM });
			expect(outcome(() => parseClientFrame(padded(leave, MAX_SIGNALING_FRAME_BYTES + 1, fill)))).toBe('too-large');
			expect(outcome(() => parseServerFrame(padded(end, MAX_SIGNALING_FRAME_BYTES + 1, fill)))).toBe('too-large');
		});
	}

	it(`text of fewer than ${MAX_SIGNALING_FRAME_BYTES} characters but more bytes is too large`, () => {
		const pad = `"pad":"${'é'.repeat(MAX_SIGNALING_FRAME_BYTES * 0.6)}",`;
		for (const [text, parse] of [
			[`{${pad}${leave}`, parseClientFrame],
			[`{${pad}${end}`, parseServerFrame]
		] as const) {
			expect(text.length).toBeLessThan(MAX_SIGNALING_FRAME_BYTES);
			expect(utf8Bytes(text)).toBeGreaterThan(MAX_SIGNALING_FRAME_BYTES);
			expect(outcome(() => parse(text))).toBe('too-large');
		}
	});

	for (const [name, fill] of [
		['ASCII', 'x'],
		['2-byte characters', 'é'],
		['4-byte characters', '😀']
	] as const) {
		it(`a server frame of ${name} is written and parsed at exactly ${MAX_SIGNALING_FRAME_BYTES} bytes; one byte past, the server does not write it`, () => {
			const errorOf = (bytes: number): ServerFrame => {
				const empty = utf8Bytes(JSON.stringify({ type: 'error', code: 'malformed', message: '' }));
				const rest = bytes - empty;
				return { type: 'error', code: 'malformed', message: fill.repeat(Math.floor(rest / utf8Bytes(fill))) + 'x'.repeat(rest % utf8Bytes(fill)) };
			};
			const text = writeServerFrame(errorOf(MAX_SIGNALING_FRAME_BYTES));
			expect(utf8Bytes(text)).toBe(MAX_SIGNALING_FRAME_BYTES);
			expect(parseServerFrame(text)).toEqual(errorOf(MAX_SIGNALING_FRAME_BYTES));
			expect(outcome(() => writeServerFrame(errorOf(MAX_SIGNALING_FRAME_BYTES + 1)))).toBe('too-large');
			expect(outcome(() => parseServerFrame(JSON.stringify(errorOf(MAX_SIGNALING_FRAME_BYTES + 1))))).toBe('too-large');
		});
	}
});

/** One row per kind of server frame: the largest and strangest a client takes, and what it refuses. */
const SERVER_LIMITS: { frame: string; largest: ServerFrame[]; past: unknown[] }[] = [
	{
		frame: 'welcome',
		largest: [
			{ type: 'welcome', self: 'ffffffffffffffff', iceServers: [], iceTransportPolicy: 'all' },
			{ type: 'welcome', self: SELF, iceServers: [{ urls: ['turn:turn.example:3478?transport=udp', 'turns:turn.example:443'], username: '1700000000:é', credential: '' }, { urls: 'stun:stun.example' }], iceTransportPolicy: 'relay' }
		],
		past: [{ type: 'welcome', self: SELF.toUpperCase(), iceServers: [] }, { type: 'welcome', self: SELF.slice(1), iceServers: [] }, { type: 'welcome', iceServers: [] }, { type: 'welcome', self: 0x0123456789abcdef }]
	},
	{
		frame: 'joined',
		largest: [
			{ type: 'joined', room: id(128), peers: [] },
			{ type: 'joined', room: ROOM, peers: Array.from({ length: 10_000 }, (_, n) => peer(n)) }
		],
		past: [{ type: 'joined', room: ROOM, peers: [SELF, 'nope'] }, { type: 'joined', room: ROOM, peers: SELF }, { type: 'joined', room: id(129), peers: [] }, { type: 'joined', room: ROOM }]
	},
	{
		frame: 'peer-joined and peer-left',
		largest: [
			{ type: 'peer-joined', room: id(16), peer: SELF },
			{ type: 'peer-left', room: id(128), peer: 'ffffffffffffffff' }
		],
		past: [{ type: 'peer-joined', room: ROOM, peer: `${SELF}0` }, { type: 'peer-left', room: ROOM, peer: null }, { type: 'peer-left', room: id(15), peer: SELF }]
	},
	{
		frame: 'signal',
		largest: [{ type: 'signal', room: ROOM, from: SELF, data: { sdp: '€'.repeat(1000), nested: { deeper: [[[]]] } } }],
		past: [{ type: 'signal', room: ROOM, from: 'SELF', data: {} }, { type: 'signal', room: ROOM, from: SELF, data: [] }, { type: 'signal', room: ROOM, from: SELF, data: null }, { type: 'signal', room: ROOM, to: SELF, data: {} }]
	},
	{
		frame: 'mailbox',
		largest: [
			{ type: 'mailbox', room: ROOM, items: [] },
			{ type: 'mailbox', room: ROOM, items: [{ id: id(64), data: sealed(MAX_MAILBOX_ITEM_BYTES) }, { id: id(8), data: sealed(MAX_MAILBOX_ITEM_BYTES) }] },
			// Below what a deposit may carry: a client takes it, and drops it when it does not open.
			{ type: 'mailbox', room: ROOM, items: [{ id: id(8), data: 'A' }] }
		],
		past: [
			{ type: 'mailbox', room: ROOM, items: [{ id: id(8), data: `${sealed(MAX_MAILBOX_ITEM_BYTES)}A` }] },
			{ type: 'mailbox', room: ROOM, items: [{ id: id(65), data: 'AAAA' }] },
			{ type: 'mailbox', room: ROOM, items: [{ id: id(7), data: 'AAAA' }] },
			{ type: 'mailbox', room: ROOM, items: [{ id: id(8), data: '' }] },
			{ type: 'mailbox', room: ROOM, items: [{ id: id(8), data: 'AAA=' }] },
			{ type: 'mailbox', room: ROOM, items: [{ id: id(8), data: 'AAAA' }, null] },
			{ type: 'mailbox', room: ROOM, items: { id: id(8), data: 'AAAA' } }
		]
	},
	{
		frame: 'mailbox-end and deposited',
		largest: [
			{ type: 'mailbox-end', room: id(128) },
			{ type: 'deposited', room: ROOM, id: id(64) },
			{ type: 'deposited', room: ROOM, id: id(8) }
		],
		past: [{ type: 'mailbox-end', room: '' }, { type: 'deposited', room: ROOM, id: id(65) }, { type: 'deposited', room: ROOM }]
	},
	{
		frame: 'error',
		largest: [
			{ type: 'error', code: 'mailbox-full', message: 'the room’s mailbox is full', id: id(64) },
			{ type: 'error', code: 'not-in-room', message: '' }
		],
		past: [{ type: 'error', code: 'forbidden', message: 'no', id: id(65) }, { type: 'error', code: 'forbidden', message: 404 }, { type: 'error', code: 7, message: 'no' }, { type: 'error', message: 'no' }]
	}
];

describe('server frames at and just past their limits', () => {
	for (const { frame, largest, past } of SERVER_LIMITS) {
		it(`${frame}: the largest is written and parsed back whole by the client; past a limit it is refused as malformed`, () => {
			for (const legal of largest) expect(parseServerFrame(writeServerFrame(legal))).toEqual(legal);
			for (const refused of past) expect(outcome(() => parseServerFrame(JSON.stringify(refused))), JSON.stringify(refused).slice(0, 100)).toBe('malformed');
		});
	}

	it('a welcome the client can read in part is taken with what it can use: bad ICE servers dropped, anything but "relay" meaning all', () => {
		const welcome = { type: 'welcome', self: SELF, iceServers: [{ urls: 'stun:a' }, { urls: 7 }, null, { urls: ['turn:b', 3] }, { urls: 'turn:c', username: 1 }], iceTransportPolicy: 'RELAY' };
		expect(parseServerFrame(JSON.stringify(welcome))).toEqual({ type: 'welcome', self: SELF, iceServers: [{ urls: 'stun:a' }], iceTransportPolicy: 'all' });
		expect(parseServerFrame(JSON.stringify({ type: 'welcome', self: SELF, iceServers: 'stun:a' }))).toEqual({ type: 'welcome', self: SELF, iceServers: [], iceTransportPolicy: 'all' });
	});
});

describe('what a hostile server or client sends', () => {
	const join = writeClientFrame({ type: 'join', room: ROOM, key: BOX.key });
	const welcome = writeServerFrame({ type: 'welcome', self: SELF, iceServers: [{ urls: 'stun:a' }], iceTransportPolicy: 'relay' });
	const both = (text: string) => [outcome(() => parseClientFrame(text)), outcome(() => parseServerFrame(text))];

	it('nothing, or JSON that is not an object, is malformed', () => {
		for (const text of ['', ' ', '\n', 'null', 'true', '42', '1e400', '"join"', '[]', `[${join}]`, '\uFEFF{}', 'undefined', 'NaN']) {
			expect(both(text), JSON.stringify(text)).toEqual(['malformed', 'malformed']);
		}
	});

	it('every prefix of a frame is malformed, and the whole is read', () => {
		expect(parseClientFrame(join)).toEqual({ type: 'join', room: ROOM, key: BOX.key });
		expect(parseServerFrame(welcome)).toMatchObject({ type: 'welcome', self: SELF });
		for (let length = 0; length < join.length; length++) expect(outcome(() => parseClientFrame(join.slice(0, length))), join.slice(0, length)).toBe('malformed');
		for (let length = 0; length < welcome.length; length++) expect(outcome(() => parseServerFrame(welcome.slice(0, length))), welcome.slice(0, length)).toBe('malformed');
	});

	it('anything but whitespace after a frame makes it malformed; whitespace around it is JSON', () => {
		for (const after of ['}', 'x', ',{}', join, '\u0000', '\uFEFF']) {
			expect(outcome(() => parseClientFrame(join + after)), JSON.stringify(after)).toBe('malformed');
			expect(outcome(() => parseServerFrame(welcome + after)), JSON.stringify(after)).toBe('malformed');
		}
		expect(parseClientFrame(` \n\t${join}\r\n `)).toEqual({ type: 'join', room: ROOM, key: BOX.key });
	});

	it('a type named after something every object inherits, or hidden in __proto__, is malformed', () => {
		for (const type of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) expect(both(JSON.stringify({ type, room: ROOM }))).toEqual(['malformed', 'malformed']);
		expect(both(`{"__proto__":{"type":"leave","room":"${ROOM}"}}`)).toEqual(['malformed', 'malformed']);
		expect(both(`{"__proto__":{"type":"leave"},"room":"${ROOM}"}`)).toEqual(['malformed', 'malformed']);
	});

	it('numbers, however large, where ids go are malformed', () => {
		for (const value of [2 ** 53, 2 ** 53 + 1, 1e16, 1234567890123456, -0]) {
			expect(outcome(() => parseClientFrame(JSON.stringify({ type: 'leave', room: value })))).toBe('malformed');
			expect(outcome(() => parseClientFrame(JSON.stringify({ type: 'signal', room: ROOM, to: value, data: {} })))).toBe('malformed');
			expect(outcome(() => parseServerFrame(JSON.stringify({ type: 'peer-joined', room: ROOM, peer: value })))).toBe('malformed');
		}
	});
});
