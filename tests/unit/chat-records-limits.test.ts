/**
 * The chat records' limits from both sides (src/lib/protocol/chat-records.ts): the largest and the
 * strangest record each kind allows is written, read back whole and verified; one past each limit is
 * refused by the writer (RecordError) and, signed by a writer that ignores the limit, by the reader.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes, sealTo, sign, toBase64Url } from '../../src/lib/crypto';
import { generateDeviceKeys } from '../../src/lib/identity/device-keys';
import {
	MAX_EMOJI_LENGTH,
	MAX_MEMBERS,
	MAX_NAME_LENGTH,
	MAX_TEXT_LENGTH,
	RECORD_PURPOSE,
	RecordError,
	readInvitationBox,
	readInvitationMembers,
	readRecord,
	recordKey,
	signRecord,
	verifyRecord,
	writeInvitationBoxes,
	writeInvitationMembers,
	type GroupRecord,
	type RecordKind
} from '../../src/lib/protocol/chat-records';

const device = generateDeviceKeys();
const signer = { id: device.id, signSecret: device.signing.secretKey };
const id = (length: number, fill = 'a') => fill.repeat(length);
const CHAT = id(64, 'c');
const ACCOUNT = toBase64Url(randomBytes(16));
/** The order each kind's fields are signed in, as the writer signs them. */
const ORDER: Record<RecordKind, string[]> = {
	member: ['chat', 'account', 'key', 'name', 'by', 'at'],
	left: ['chat', 'account', 'at'],
	key: ['chat', 'epoch', 'device', 'box', 'by'],
	mark: ['chat', 'account', 'delivered', 'read'],
	message: ['id', 'chatId', 'account', 'sentAt', 'text', 'reply', 'edited', 'deleted'],
	reaction: ['chat', 'message', 'account', 'emoji'],
	group: ['chat', 'group', 'title', 'members', 'epoch', 'boxes', 'by'],
	rules: ['chat', 'membersAdd', 'by', 'at']
};

/** Signed as a writer that ignores every limit would sign it: a valid signature over anything. */
function forge(kind: RecordKind, fields: Record<string, unknown>): Record<string, unknown> {
	const bytes = new TextEncoder().encode(JSON.stringify([kind, ...ORDER[kind].map((field) => fields[field])]));
	return { ...fields, author: device.id, sig: toBase64Url(sign(device.signing.secretKey, RECORD_PURPOSE, bytes)) };
}

/** Text that is as strange as text gets: other scripts, joiners, JSON's own characters, lone line separators. */
const STRANGE = 'Ωµ\u200d👩‍👩‍👧 "quoted" \\ back\nslash\u2028\u2029\u0000 عربى';

/** The largest well-formed record of each kind, and the field that, one longer, is over its limit. */
const LARGEST: { kind: RecordKind; fields: Record<string, unknown>; over: [string, unknown] }[] = [
	{ kind: 'message', fields: { id: id(64), chatId: CHAT, account: ACCOUNT, sentAt: Number.MAX_SAFE_INTEGER, text: STRANGE + 'x'.repeat(MAX_TEXT_LENGTH - STRANGE.length), reply: id(64, 'r'), edited: Number.MAX_SAFE_INTEGER, deleted: false }, over: ['text', 'x'.repeat(MAX_TEXT_LENGTH + 1)] },
	{ kind: 'reaction', fields: { chat: CHAT, message: id(64), account: ACCOUNT, emoji: '👍'.repeat(MAX_EMOJI_LENGTH / 2) }, over: ['emoji', '👍'.repeat(MAX_EMOJI_LENGTH / 2) + 'x'] },
	{ kind: 'member', fields: { chat: CHAT, account: id(64), key: 'k'.repeat(43), name: STRANGE.slice(0, MAX_NAME_LENGTH).padEnd(MAX_NAME_LENGTH, 'n'), by: id(64, 'b'), at: 0 }, over: ['name', 'n'.repeat(MAX_NAME_LENGTH + 1)] },
	{ kind: 'key', fields: { chat: CHAT, epoch: Number.MAX_SAFE_INTEGER, device: id(64, 'd'), box: 'b'.repeat(200), by: id(64) }, over: ['box', 'b'.repeat(201)] },
	{ kind: 'group', fields: { chat: CHAT, group: id(64, 'g'), title: 't'.repeat(MAX_NAME_LENGTH), members: 'm'.repeat(MAX_MEMBERS * 30), epoch: 1, boxes: 'x'.repeat(6 * 240), by: id(64) }, over: ['members', 'm'.repeat(MAX_MEMBERS * 30 + 1)] },
	{ kind: 'mark', fields: { chat: CHAT, account: id(64), delivered: Number.MAX_SAFE_INTEGER, read: 0 }, over: ['read', Number.MAX_SAFE_INTEGER + 1] },
	{ kind: 'left', fields: { chat: CHAT, account: id(64), at: Number.MAX_SAFE_INTEGER }, over: ['account', id(65)] },
	{ kind: 'rules', fields: { chat: CHAT, membersAdd: false, by: id(64), at: Number.MAX_SAFE_INTEGER }, over: ['chat', id(65, 'c')] }
];

describe('chat records at and just past their limits', () => {
	for (const { kind, fields, over } of LARGEST) {
		it(`${kind}: the largest is written, read back whole and verified; one past the ${over[0]} limit is refused on both sides`, () => {
			const record = signRecord(kind, fields as never, signer);
			// Through JSON, as a record travels inside a Yjs document.
			const travelled = JSON.parse(JSON.stringify(record)) as unknown;
			const chat = over[0] === 'chat' ? CHAT : (fields.chat ?? fields.chatId) as string;
			const read = readRecord(kind, travelled, recordKey(kind, record as never), chat);
			expect(read).toEqual(record);
			expect(verifyRecord(kind, read!, device.signing.publicKey)).toBe(true);

			const past = { ...fields, [over[0]]: over[1] };
			expect(() => signRecord(kind, past as never, signer)).toThrow(RecordError);
			const forged = forge(kind, past);
			expect(readRecord(kind, JSON.parse(JSON.stringify(forged)), recordKey(kind, forged as never), (past.chat ?? past.chatId) as string)).toBeUndefined();
		});
	}

	it('the largest real invitation fits: 64 members and a box for each of the 5 devices of the invited account', () => {
		const accounts = Array.from({ length: MAX_MEMBERS }, () => toBase64Url(randomBytes(16)));
		const boxes: Record<string, string> = {};
		for (let i = 0; i < 5; i++) {
			const to = generateDeviceKeys();
			boxes[to.id] = toBase64Url(sealTo(to.agreement.publicKey, randomBytes(32), new TextEncoder().encode('associated')));
		}
		const fields = { chat: CHAT, group: id(22, 'g'), title: 't'.repeat(MAX_NAME_LENGTH), members: writeInvitationMembers(accounts), epoch: 1, boxes: writeInvitationBoxes(boxes), by: ACCOUNT };
		const record = signRecord('group', fields, signer);
		const read = readRecord('group', JSON.parse(JSON.stringify(record)), fields.group, CHAT)!;
		expect(read).toEqual(record);
		expect(readInvitationMembers(read)).toEqual(accounts);
		for (const [deviceId, box] of Object.entries(boxes)) expect(toBase64Url(readInvitationBox(read, deviceId)!)).toBe(box);
		expect(readInvitationBox(read, generateDeviceKeys().id)).toBeUndefined();
	});

	it("an invitation's members and boxes: one member or a box too many is refused by the writer, and anything but their shape by the reader", () => {
		expect(() => writeInvitationMembers(Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => `account${i}`))).toThrow(RecordError);
		expect(() => writeInvitationMembers([id(65)])).toThrow(RecordError);
		expect(() => writeInvitationMembers([''])).toThrow(RecordError);
		expect(() => writeInvitationBoxes({ device: 'b'.repeat(201) })).toThrow(RecordError);
		expect(() => writeInvitationBoxes({ [id(65)]: 'box' })).toThrow(RecordError);

		const invitation = (members: string, boxes: string) => ({ members, boxes }) as GroupRecord;
		for (const members of ['', 'not json', '{}', '"a"', '[1]', '[""]', `["${id(65)}"]`, JSON.stringify(Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => `a${i}`)), '[null]', '[["a"]]'])
			expect(readInvitationMembers(invitation(members, '{}')), members.slice(0, 40)).toBeUndefined();
		for (const boxes of ['', 'not json', '[]', 'null', '"device"', '{"device":1}', '{"device":null}', `{"device":"${'b'.repeat(201)}"}`, '{"device":"not base64url!"}', '{"other":"AAAA"}'])
			expect(readInvitationBox(invitation('[]', boxes), 'device'), boxes.slice(0, 40)).toBeUndefined();
		// Inherited names are not boxes.
		expect(readInvitationBox(invitation('[]', '{}'), 'toString')).toBeUndefined();
		expect(readInvitationBox(invitation('[]', '{}'), '__proto__')).toBeUndefined();
	});

	it('refuses the strange shapes a hostile writer could sign: a field more or less, the wrong type, numbers no clock makes', () => {
		const { kind, fields } = LARGEST[0]!;
		const good = forge(kind, fields);
		const key = recordKey(kind, good as never);
		const strange: Record<string, unknown>[] = [
			{ ...good, extra: 1 },
			Object.fromEntries(Object.entries(good).filter(([field]) => field !== 'reply')),
			{ ...forge(kind, { ...fields, sentAt: -1 }) },
			{ ...forge(kind, { ...fields, sentAt: 1.5 }) },
			{ ...forge(kind, { ...fields, sentAt: Number.MAX_SAFE_INTEGER + 2 }) },
			{ ...forge(kind, { ...fields, sentAt: '1' }) },
			{ ...forge(kind, { ...fields, deleted: 'false' }) },
			{ ...forge(kind, { ...fields, deleted: true }) },
			{ ...forge(kind, { ...fields, id: '' }) },
			{ ...good, author: '' },
			{ ...good, sig: 42 }
		];
		for (const value of strange) expect(readRecord(kind, JSON.parse(JSON.stringify(value)), key, CHAT), JSON.stringify(value).slice(0, 80)).toBeUndefined();
		for (const value of [null, 'text', 42, [good], undefined]) expect(readRecord(kind, value, key, CHAT)).toBeUndefined();
		// Under another key or in another chat: not this record.
		expect(readRecord(kind, good, `${key}x`, CHAT)).toBeUndefined();
		expect(readRecord(kind, good, key, `${CHAT.slice(1)}d`)).toBeUndefined();
		expect(readRecord(kind, JSON.parse(JSON.stringify(good)), key, CHAT)).toEqual(good);
	});
});
