/**
 * Becoming contacts (docs/PROTOCOL.md, *Contacts and chats with other people*). The exchange:
 *
 *   A shows an INVITE (QR or link) ── B scans or opens it.
 *   B ──REQUEST──▶ the invite's room mailbox (sealed with the invite's mailbox key) ──▶ any device of A, whenever online
 *   A ──ANSWER───▶ the same mailbox ──▶ any device of B, whenever online
 *
 *   invite  = "c1" ‖ base64url([format = 1][accountKey: 32][secret: 16][expiresAt: varuint ms][name: varstring ≤ 64])
 *   request = [format = 1][body: varbytes][deviceId: varstring][sig: 64]   sig = sign(B's device, "samen/v1/contact-request", body)
 *     body  = [introduction: varbytes][name: varstring ≤ 64][chatId: varstring, base64url, 1–64][sentAt: varuint]
 *   answer  = [format = 1][body: varbytes][deviceId: varstring][sig: 64]   sig = sign(A's device, "samen/v1/contact-answer", body)
 *     body  = [introduction: varbytes][name: varstring ≤ 64][chatId: varstring, base64url, 1–64][requesterKey: 32]
 *             [count: varuint ≤ 5]([deviceId: varstring][box: varbytes ≤ 200])*
 *     box   = sealTo(agreeKey, chatSecret, chatKeyAssociated(chatId, 1, deviceId))
 *
 * Both messages travel in a small Yjs document (topic INVITE_TOPIC) whose map `requests` holds
 * accountId → base64url(request) and `answers` accountId → base64url(answer), so the mailbox
 * carries them as it carries any document. The readers check every length before allocating and
 * the signature before the body is used; whether the signing device is on the introduced list,
 * and that list signed by the expected account key, is checked by the caller (../people/).
 *
 * Verifying a contact (either side, whenever the two meet): each shows the SAFETY CODE of the pair
 * (../people/safety.ts: the same 60 digits on both sides) as digits and as a QR; the other compares
 * by eye, or scans the QR and compares it with the code it computes itself. Equal: the scanner marks
 * the contact verified, for its own account only; different: it marks nothing and warns.
 *
 *   safety QR = "samen-safety:1:" ‖ 60 digits            (the 12 groups of 5, in order, nothing between)
 *
 * The prefix names the payload and its version, so that no other QR (an invite, a link code, a web
 * address) reads as a safety code; a reader refuses any other prefix or version, a length other than
 * 75 characters (before it looks further), and anything but ASCII digits after the prefix. The QR
 * holds no account id or key: whoever photographs it learns nothing but the code.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { fromBase64Url, KEY_BYTES, SIGNATURE_BYTES, sign, toBase64Url, verify } from '../crypto';
import { MAX_DEVICES, MAX_INTRODUCTION_BYTES } from './trust';

const FORMAT = 1;
const INVITE_PREFIX = 'c1';
export const INVITE_SECRET_BYTES = 16;
export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const MAX_CONTACT_NAME_LENGTH = 64;
const MAX_CHAT_ID_LENGTH = 64;
const MAX_BOX_BYTES = 200;
export const MAX_CONTACT_MESSAGE_BYTES = MAX_INTRODUCTION_BYTES + 2048;
export const INVITE_TOPIC = 'invite';
export const REQUEST_PURPOSE = 'samen/v1/contact-request';
export const ANSWER_PURPOSE = 'samen/v1/contact-answer';

export type ContactErrorCode = 'malformed' | 'expired' | 'own-account' | 'deleted' | 'forged';

export class ContactError extends Error {
	constructor(readonly code: ContactErrorCode) {
		super(`contact: ${code}`);
		this.name = 'ContactError';
	}
}

export interface Invite {
	accountKey: Uint8Array;
	secret: Uint8Array;
	expiresAt: number;
	/** The inviting account's name, as its user set it: shown, never trusted. */
	name: string;
}

export function writeInvite(invite: Invite): string {
	const encoder = encoding.createEncoder();
	encoding.writeUint8(encoder, FORMAT);
	encoding.writeUint8Array(encoder, invite.accountKey);
	encoding.writeUint8Array(encoder, invite.secret);
	encoding.writeVarUint(encoder, invite.expiresAt);
	encoding.writeVarString(encoder, invite.name.slice(0, MAX_CONTACT_NAME_LENGTH));
	return INVITE_PREFIX + toBase64Url(encoding.toUint8Array(encoder));
}

/** Reads an invite from its payload or any link carrying it after '#'; throws ContactError('malformed'). */
export function readInvite(text: string): Invite {
	const trimmed = text.trim();
	const encoded = trimmed.slice(trimmed.lastIndexOf('#') + 1).replace(/^contact=/, '');
	if (!encoded.startsWith(INVITE_PREFIX) || encoded.length > 400) throw new ContactError('malformed');
	try {
		const decoder = decoding.createDecoder(fromBase64Url(encoded.slice(INVITE_PREFIX.length)));
		if (decoding.readUint8(decoder) !== FORMAT) throw new ContactError('malformed');
		const accountKey = decoding.readUint8Array(decoder, KEY_BYTES).slice();
		const secret = decoding.readUint8Array(decoder, INVITE_SECRET_BYTES).slice();
		const expiresAt = decoding.readVarUint(decoder);
		const name = decoding.readVarString(decoder);
		if (decoding.hasContent(decoder) || name.length > MAX_CONTACT_NAME_LENGTH || !Number.isSafeInteger(expiresAt)) throw new ContactError('malformed');
		return { accountKey, secret, expiresAt, name };
	} catch {
		throw new ContactError('malformed');
	}
}

export function inviteUrl(origin: string, invite: string): string {
	return `${origin}/contacts/add#contact=${invite}`;
}

/** Whether a URL fragment carries an invite. */
export function carriesInvite(fragment: string): boolean {
	return /^#?contact=c1/.test(fragment);
}

const SAFETY_PREFIX = 'samen-safety:1:';
export const SAFETY_GROUPS = 12;
export const SAFETY_GROUP_DIGITS = 5;
const SAFETY_PAYLOAD_LENGTH = SAFETY_PREFIX.length + SAFETY_GROUPS * SAFETY_GROUP_DIGITS;

/** The QR text of a safety code (12 groups of 5 digits); throws ContactError('malformed') for anything else. */
export function writeSafetyCode(code: readonly string[]): string {
	if (code.length !== SAFETY_GROUPS || !code.every((group) => /^[0-9]{5}$/.test(group))) throw new ContactError('malformed');
	return SAFETY_PREFIX + code.join('');
}

/** The safety code (12 groups of 5 digits) a scanned QR holds; throws ContactError('malformed') when it holds none. */
export function readSafetyCode(text: string): string[] {
	const trimmed = text.trim();
	if (trimmed.length !== SAFETY_PAYLOAD_LENGTH || !trimmed.startsWith(SAFETY_PREFIX)) throw new ContactError('malformed');
	const digits = trimmed.slice(SAFETY_PREFIX.length);
	if (!/^[0-9]+$/.test(digits)) throw new ContactError('malformed');
	return Array.from({ length: SAFETY_GROUPS }, (_, group) => digits.slice(group * SAFETY_GROUP_DIGITS, (group + 1) * SAFETY_GROUP_DIGITS));
}

export interface ContactRequest {
	introduction: Uint8Array;
	name: string;
	chatId: string;
	sentAt: number;
	/** The device that signed it. */
	deviceId: string;
}

export interface ContactAnswer {
	introduction: Uint8Array;
	name: string;
	chatId: string;
	requesterKey: Uint8Array;
	boxes: { deviceId: string; box: Uint8Array }[];
	deviceId: string;
}

/** A chat id as both sides make them: base64url, 1 to 64 characters. */
const isChatId = (value: string) => /^[A-Za-z0-9_-]{1,64}$/.test(value);

function writeSigned(purpose: string, body: Uint8Array, device: { id: string; signSecret: Uint8Array }): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeUint8(encoder, FORMAT);
	encoding.writeVarUint8Array(encoder, body);
	encoding.writeVarString(encoder, device.id);
	encoding.writeUint8Array(encoder, sign(device.signSecret, purpose, body));
	const bytes = encoding.toUint8Array(encoder);
	if (bytes.length > MAX_CONTACT_MESSAGE_BYTES) throw new ContactError('malformed');
	return bytes;
}

/** Splits a signed message; `signKeyOf` finds the key of the device it names (undefined: refused). */
function readSigned(purpose: string, bytes: Uint8Array, signKeyOf: (deviceId: string, body: Uint8Array) => Uint8Array | undefined): { body: Uint8Array; deviceId: string } {
	if (bytes.length > MAX_CONTACT_MESSAGE_BYTES) throw new ContactError('malformed');
	let body: Uint8Array, deviceId: string, sig: Uint8Array;
	try {
		const decoder = decoding.createDecoder(bytes);
		if (decoding.readUint8(decoder) !== FORMAT) throw new ContactError('malformed');
		body = decoding.readVarUint8Array(decoder);
		deviceId = decoding.readVarString(decoder);
		sig = decoding.readUint8Array(decoder, SIGNATURE_BYTES);
		if (decoding.hasContent(decoder)) throw new ContactError('malformed');
	} catch {
		throw new ContactError('malformed');
	}
	const key = signKeyOf(deviceId, body);
	if (!key || !verify(key, purpose, body, sig)) throw new ContactError('forged');
	return { body, deviceId };
}

export function writeContactRequest(request: Omit<ContactRequest, 'deviceId'>, device: { id: string; signSecret: Uint8Array }): Uint8Array {
	if (!isChatId(request.chatId) || request.introduction.length > MAX_INTRODUCTION_BYTES) throw new ContactError('malformed');
	const encoder = encoding.createEncoder();
	encoding.writeVarUint8Array(encoder, request.introduction);
	encoding.writeVarString(encoder, request.name.slice(0, MAX_CONTACT_NAME_LENGTH));
	encoding.writeVarString(encoder, request.chatId);
	encoding.writeVarUint(encoder, request.sentAt);
	return writeSigned(REQUEST_PURPOSE, encoding.toUint8Array(encoder), device);
}

/** The introduction inside a request or answer, before its signature is checked (to find the signer's key). */
export function peekIntroduction(body: Uint8Array): Uint8Array {
	try {
		const bytes = decoding.readVarUint8Array(decoding.createDecoder(body));
		if (bytes.length > MAX_INTRODUCTION_BYTES) throw new ContactError('malformed');
		return bytes;
	} catch {
		throw new ContactError('malformed');
	}
}

export function readContactRequest(bytes: Uint8Array, signKeyOf: (deviceId: string, introduction: Uint8Array) => Uint8Array | undefined): ContactRequest {
	const { body, deviceId } = readSigned(REQUEST_PURPOSE, bytes, (id, body) => signKeyOf(id, peekIntroduction(body)));
	try {
		const decoder = decoding.createDecoder(body);
		const introduction = decoding.readVarUint8Array(decoder);
		const name = decoding.readVarString(decoder);
		const chatId = decoding.readVarString(decoder);
		const sentAt = decoding.readVarUint(decoder);
		if (decoding.hasContent(decoder) || name.length > MAX_CONTACT_NAME_LENGTH || !isChatId(chatId)) throw new Error();
		return { introduction, name, chatId, sentAt, deviceId };
	} catch {
		throw new ContactError('malformed');
	}
}

export function writeContactAnswer(answer: Omit<ContactAnswer, 'deviceId'>, device: { id: string; signSecret: Uint8Array }): Uint8Array {
	if (answer.boxes.length > MAX_DEVICES || !isChatId(answer.chatId) || answer.introduction.length > MAX_INTRODUCTION_BYTES || answer.requesterKey.length !== KEY_BYTES) throw new ContactError('malformed');
	if (answer.boxes.some(({ deviceId, box }) => deviceId.length > MAX_CHAT_ID_LENGTH || box.length > MAX_BOX_BYTES)) throw new ContactError('malformed');
	const encoder = encoding.createEncoder();
	encoding.writeVarUint8Array(encoder, answer.introduction);
	encoding.writeVarString(encoder, answer.name.slice(0, MAX_CONTACT_NAME_LENGTH));
	encoding.writeVarString(encoder, answer.chatId);
	encoding.writeUint8Array(encoder, answer.requesterKey);
	encoding.writeVarUint(encoder, answer.boxes.length);
	for (const { deviceId, box } of answer.boxes) {
		encoding.writeVarString(encoder, deviceId);
		encoding.writeVarUint8Array(encoder, box);
	}
	return writeSigned(ANSWER_PURPOSE, encoding.toUint8Array(encoder), device);
}

export function readContactAnswer(bytes: Uint8Array, signKeyOf: (deviceId: string, introduction: Uint8Array) => Uint8Array | undefined): ContactAnswer {
	const { body, deviceId } = readSigned(ANSWER_PURPOSE, bytes, (id, body) => signKeyOf(id, peekIntroduction(body)));
	try {
		const decoder = decoding.createDecoder(body);
		const introduction = decoding.readVarUint8Array(decoder);
		const name = decoding.readVarString(decoder);
		const chatId = decoding.readVarString(decoder);
		const requesterKey = decoding.readUint8Array(decoder, KEY_BYTES).slice();
		const count = decoding.readVarUint(decoder);
		if (count > MAX_DEVICES || name.length > MAX_CONTACT_NAME_LENGTH || !isChatId(chatId)) throw new Error();
		const boxes: ContactAnswer['boxes'] = [];
		for (let index = 0; index < count; index++) {
			const id = decoding.readVarString(decoder);
			const box = decoding.readVarUint8Array(decoder);
			if (id.length > MAX_CHAT_ID_LENGTH || box.length > MAX_BOX_BYTES) throw new Error();
			boxes.push({ deviceId: id, box });
		}
		if (decoding.hasContent(decoder)) throw new Error();
		return { introduction, name, chatId, requesterKey, boxes, deviceId };
	} catch {
		throw new ContactError('malformed');
	}
}

/** What a chat key box is bound to: the chat, the epoch and the device it is for. */
export function chatKeyAssociated(chatId: string, epoch: number, deviceId: string): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, 'samen/v1/chat-key');
	encoding.writeVarString(encoder, chatId);
	encoding.writeVarUint(encoder, epoch);
	encoding.writeVarString(encoder, deviceId);
	return encoding.toUint8Array(encoder);
}
