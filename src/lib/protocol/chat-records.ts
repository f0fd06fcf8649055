/**
 * The signed records inside a chat shared with other accounts (docs/PROTOCOL.md, *Contacts and
 * chats with other people*). Each is one plain JSON value in a Yjs map, written by one device and
 * carrying that device's Ed25519 signature:
 *
 *   sig = sign(author device, "samen/v1/chat-record", UTF-8 JSON of [kind, ...fields in the order below])
 *
 *   state document `chat/<id>/state`
 *     lists    accountId            → the member account's newest signed device list (../protocol/trust.ts), base64url:
 *                                                not a record (signed by the account key itself, which the
 *                                                member record names), so that a device can check what devices
 *                                                it never met wrote, whoever relayed it
 *     members  accountId            → member  {chat, account, key, name, by, at}                       by: the adding account
 *     left     accountId            → left    {chat, account, at}
 *     keys     "<epoch>/<deviceId>/<author>" → key {chat, epoch, device, box, by}                 box: sealTo(device agreeKey, secret);
 *                                                author: the device that made the epoch (two may, at once)
 *     marks    accountId            → mark    {chat, account, delivered, read}
 *     rules    "group"              → rules   {chat, membersAdd, by, at}          in a group: whether members other than its
 *                                                creator may add accounts (written by the creator only; none: they may)
 *     groups   groupId              → group   {chat, group, title, members, epoch, boxes, by}   in a direct chat: an invitation
 *                                                into a group (members: JSON array of account ids; boxes: JSON object
 *                                                deviceId → box of the group's epoch secret, for the other account's devices)
 *   month documents `chat/<id>/<YYYY-MM>`
 *     messages id                   → message {id, chatId, account, sentAt, text, reply, edited, deleted}   (chatId: as a self-chat message)
 *     reactions "<id>/<accountId>"  → reaction {chat, message, account, emoji}
 *
 * Every record also has `author` (the signing device's id) and `sig` (base64url). Writing and
 * reading are the pair `signRecord` / `readRecord`: a reader takes a value from a peer's document
 * only through `readRecord`, which checks shape, limits and that the record belongs under its key;
 * the signature is checked by the caller, which knows the author's keys (`verifyRecord`). The JSON
 * inside an invitation is written and read by `writeInvitationMembers` / `readInvitationMembers`
 * and `writeInvitationBoxes` / `readInvitationBox`.
 */
import { fromBase64Url, sign, toBase64Url, verify } from '../crypto';
import { MAX_DEVICE_LIST_BYTES } from './trust';

export const RECORD_PURPOSE = 'samen/v1/chat-record';
export const MAX_TEXT_LENGTH = 10_000;
export const MAX_EMOJI_LENGTH = 16;
export const MAX_MEMBERS = 64;
export const MAX_NAME_LENGTH = 64;
const MAX_ID_LENGTH = 64;
const MAX_BOX_LENGTH = 200;

export type RecordKind = 'member' | 'left' | 'key' | 'mark' | 'message' | 'reaction' | 'group' | 'rules';

interface Signed {
	author: string;
	sig: string;
}

export interface MemberRecord extends Signed {
	chat: string;
	account: string;
	/** The member account's key (base64url), so devices that never met it can check its lists. */
	key: string;
	name: string;
	by: string;
	at: number;
}
export interface LeftRecord extends Signed {
	chat: string;
	account: string;
	at: number;
}
export interface KeyRecord extends Signed {
	chat: string;
	epoch: number;
	device: string;
	box: string;
	by: string;
}
/** A group's rules, by its creator. */
export interface RulesRecord extends Signed {
	chat: string;
	/** Whether every member may add accounts, or only the creator. */
	membersAdd: boolean;
	by: string;
	at: number;
}
export interface MarkRecord extends Signed {
	chat: string;
	account: string;
	delivered: number;
	read: number;
}
export interface GroupRecord extends Signed {
	chat: string;
	group: string;
	title: string;
	members: string;
	epoch: number;
	boxes: string;
	by: string;
}
export interface MessageRecord extends Signed {
	id: string;
	chatId: string;
	account: string;
	sentAt: number;
	text: string;
	reply: string;
	edited: number;
	deleted: boolean;
}
export interface ReactionRecord extends Signed {
	chat: string;
	message: string;
	account: string;
	emoji: string;
}

export interface RecordsByKind {
	member: MemberRecord;
	left: LeftRecord;
	key: KeyRecord;
	mark: MarkRecord;
	message: MessageRecord;
	reaction: ReactionRecord;
	group: GroupRecord;
	rules: RulesRecord;
}

type Fields<K extends RecordKind> = Omit<RecordsByKind[K], 'author' | 'sig'>;

/** The fields of each kind, in the order they are signed. */
const FIELDS: { [K in RecordKind]: (keyof Fields<K>)[] } = {
	member: ['chat', 'account', 'key', 'name', 'by', 'at'],
	left: ['chat', 'account', 'at'],
	key: ['chat', 'epoch', 'device', 'box', 'by'],
	mark: ['chat', 'account', 'delivered', 'read'],
	message: ['id', 'chatId', 'account', 'sentAt', 'text', 'reply', 'edited', 'deleted'],
	reaction: ['chat', 'message', 'account', 'emoji'],
	group: ['chat', 'group', 'title', 'members', 'epoch', 'boxes', 'by'],
	rules: ['chat', 'membersAdd', 'by', 'at']
};

/** Which map of which document holds each kind. */
export const MAP_OF: { [K in RecordKind]: string } = {
	member: 'members',
	left: 'left',
	key: 'keys',
	mark: 'marks',
	message: 'messages',
	reaction: 'reactions',
	group: 'groups',
	rules: 'rules'
};
/** The one key of the rules map. */
export const RULES_KEY = 'group';
/** The state document's map of member accounts' device lists. */
export const LISTS_MAP = 'lists';
/** The state document's maps; the lists first, as the records beside them may be signed by devices only they name. */
export const STATE_MAPS = [LISTS_MAP, 'members', 'left', 'keys', 'marks', 'groups', 'rules'];
export const MONTH_MAPS = ['messages', 'reactions'];

export function kindOfMap(map: string): RecordKind | undefined {
	return (Object.keys(MAP_OF) as RecordKind[]).find((kind) => MAP_OF[kind] === map);
}

/** The key a record is stored under in its map (a key record's includes its author). */
export function recordKey<K extends RecordKind>(kind: K, record: Fields<K> & { author?: string }): string {
	const r = record as unknown as Record<string, string | number>;
	switch (kind) {
		case 'member':
		case 'left':
		case 'mark':
			return String(r.account);
		case 'key':
			return `${r.epoch}/${r.device}/${r.author}`;
		case 'message':
			return String(r.id);
		case 'group':
			return String(r.group);
		case 'rules':
			return RULES_KEY;
		default:
			return `${r.message}/${r.account}`;
	}
}

function signedBytes<K extends RecordKind>(kind: K, record: Fields<K>): Uint8Array {
	return new TextEncoder().encode(JSON.stringify([kind, ...FIELDS[kind].map((field) => record[field])]));
}

export function signRecord<K extends RecordKind>(kind: K, fields: Fields<K>, device: { id: string; signSecret: Uint8Array }): RecordsByKind[K] {
	check(kind, fields);
	const record = {} as Record<string, unknown>;
	for (const field of FIELDS[kind]) record[field as string] = fields[field];
	record.author = device.id;
	record.sig = toBase64Url(sign(device.signSecret, RECORD_PURPOSE, signedBytes(kind, fields)));
	if (kind === 'key') check(kind, record);
	return record as unknown as RecordsByKind[K];
}

export function verifyRecord<K extends RecordKind>(kind: K, record: RecordsByKind[K], signKey: Uint8Array): boolean {
	let sig: Uint8Array;
	try {
		sig = fromBase64Url(record.sig);
	} catch {
		return false;
	}
	return verify(signKey, RECORD_PURPOSE, signedBytes(kind, record), sig);
}

export class RecordError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'RecordError';
	}
}

const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** The chat a record belongs to (a message names it `chatId`, as messages of the self chat do). */
export function chatOf(kind: RecordKind, record: object): unknown {
	return kind === 'message' ? (record as { chatId?: unknown }).chatId : (record as { chat?: unknown }).chat;
}

/** Throws RecordError unless `fields` are a well-formed record of `kind` within the limits. */
function check(kind: RecordKind, fields: object): void {
	const f = fields as Record<string, unknown>;
	const fail = (why: string) => {
		throw new RecordError(`${kind}: ${why}`);
	};
	if (!isId(chatOf(kind, f))) fail('chat');
	switch (kind) {
		case 'member':
			if (!isId(f.account) || !isId(f.by) || !isTime(f.at) || typeof f.key !== 'string' || f.key.length !== 43) fail('fields');
			if (typeof f.name !== 'string' || f.name.length > MAX_NAME_LENGTH) fail('name');
			break;
		case 'left':
			if (!isId(f.account) || !isTime(f.at)) fail('fields');
			break;
		case 'key':
			if (!isTime(f.epoch) || f.epoch < 1 || !isId(f.device) || !isId(f.by)) fail('fields');
			if (typeof f.box !== 'string' || f.box.length > MAX_BOX_LENGTH) fail('box');
			break;
		case 'mark':
			if (!isId(f.account) || !isTime(f.delivered) || !isTime(f.read)) fail('fields');
			break;
		case 'message':
			if (!isId(f.id) || !isId(f.account) || !isTime(f.sentAt) || !isTime(f.edited) || typeof f.deleted !== 'boolean') fail('fields');
			if (typeof f.text !== 'string' || f.text.length > MAX_TEXT_LENGTH) fail('text');
			if (f.deleted && f.text !== '') fail('a deleted message keeps no text');
			if (typeof f.reply !== 'string' || (f.reply !== '' && !isId(f.reply))) fail('reply');
			break;
		case 'group':
			if (!isId(f.group) || !isId(f.by) || !isTime(f.epoch) || f.epoch < 1) fail('fields');
			if (typeof f.title !== 'string' || f.title.length > MAX_NAME_LENGTH) fail('title');
			if (typeof f.members !== 'string' || f.members.length > MAX_MEMBERS * 30) fail('members');
			if (typeof f.boxes !== 'string' || f.boxes.length > 6 * (MAX_BOX_LENGTH + 40)) fail('boxes');
			break;
		case 'rules':
			if (typeof f.membersAdd !== 'boolean' || !isId(f.by) || !isTime(f.at)) fail('fields');
			break;
		case 'reaction':
			if (!isId(f.message) || !isId(f.account)) fail('fields');
			if (typeof f.emoji !== 'string' || f.emoji.length > MAX_EMOJI_LENGTH) fail('emoji');
			break;
	}
}

/**
 * A record of `kind` from a peer's document, stored under `key` of chat `chat`; undefined when it
 * is not one (wrong shape, over a limit, extra fields, under another key or chat).
 */
export function readRecord<K extends RecordKind>(kind: K, value: unknown, key: string, chat: string): RecordsByKind[K] | undefined {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
	const record = value as Record<string, unknown>;
	const fields = FIELDS[kind] as string[];
	if (Object.keys(record).length !== fields.length + 2 || !isId(record.author) || typeof record.sig !== 'string') return undefined;
	try {
		check(kind, record);
	} catch {
		return undefined;
	}
	if (chatOf(kind, record) !== chat || recordKey(kind, record as Fields<K>) !== key) return undefined;
	return record as unknown as RecordsByKind[K];
}

/** A group invitation's `members` field: the group's account ids as a JSON array. */
export function writeInvitationMembers(members: readonly string[]): string {
	if (members.length > MAX_MEMBERS || !members.every(isId)) throw new RecordError('members');
	return JSON.stringify(members);
}

/** The account ids a group invitation lists; undefined when its `members` is not a JSON array of at most MAX_MEMBERS ids. */
export function readInvitationMembers(record: GroupRecord): string[] | undefined {
	let members: unknown;
	try {
		members = JSON.parse(record.members);
	} catch {
		return undefined;
	}
	return Array.isArray(members) && members.length <= MAX_MEMBERS && members.every(isId) ? members : undefined;
}

/** A group invitation's `boxes` field: device id → base64url box of the group's epoch secret, as a JSON object. */
export function writeInvitationBoxes(boxes: Readonly<Record<string, string>>): string {
	if (!Object.entries(boxes).every(([device, box]) => isId(device) && box.length <= MAX_BOX_LENGTH)) throw new RecordError('boxes');
	return JSON.stringify(boxes);
}

/** The box a group invitation holds for `deviceId`, still sealed; undefined when it has none or its `boxes` is malformed. */
export function readInvitationBox(record: GroupRecord, deviceId: string): Uint8Array | undefined {
	try {
		const boxes = JSON.parse(record.boxes) as unknown;
		if (typeof boxes !== 'object' || boxes === null || Array.isArray(boxes) || !Object.hasOwn(boxes, deviceId)) return undefined;
		const box = (boxes as Record<string, unknown>)[deviceId];
		return typeof box === 'string' && box.length <= MAX_BOX_LENGTH ? fromBase64Url(box) : undefined;
	} catch {
		return undefined;
	}
}

/** The signed device list in a `lists` value, not yet checked; undefined when the value cannot be one. */
export function readListEntry(value: unknown): Uint8Array | undefined {
	if (typeof value !== 'string' || value.length > Math.ceil((MAX_DEVICE_LIST_BYTES * 4) / 3)) return undefined;
	try {
		return fromBase64Url(value);
	} catch {
		return undefined;
	}
}
