/**
 * The account document (topic "account"), shared by all devices of one account:
 *
 *   profile  : Y.Map  name → string
 *   chats    : Y.Map  chatId → ChatRecord
 *   months   : Y.Map  "chatId/YYYY-MM" → true       which monthly message documents exist
 *   read     : Y.Map  "chatId/deviceId" → epoch ms   how far each device has read each chat
 *   names    : Y.Map  deviceId → string             a device's name as its users renamed it
 *   activity : Y.Map  deviceId → epoch ms           when each device was last open (at most hourly)
 *   leaving  : Y.Map  deviceId → base64url note     a companion's signed note that it logged itself out
 *                                                   (../protocol/trust.ts); the primary then takes it off the list
 *
 * Nothing here decides trust: which devices belong to the account, their roles and keys live in
 * the signed device list (../protocol/trust.ts), which no document can change. A name here only
 * overrides how a listed device is shown. Values are plain JSON so each entry is one Yjs item
 * (see FIELD-NOTES).
 */
import type * as Y from 'yjs';
import { MAX_DEVICE_NAME_LENGTH } from '../protocol/trust';

export const ACCOUNT_TOPIC = 'account';

export interface ChatRecord {
	id: string;
	title: string;
	kind: 'self';
	createdAt: number;
}

export function profileMap(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('profile');
}
export function chatsMap(doc: Y.Doc): Y.Map<ChatRecord> {
	return doc.getMap<ChatRecord>('chats');
}
export function monthsMap(doc: Y.Doc): Y.Map<true> {
	return doc.getMap<true>('months');
}
export function readMap(doc: Y.Doc): Y.Map<number> {
	return doc.getMap<number>('read');
}
export function namesMap(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('names');
}
export function activityMap(doc: Y.Doc): Y.Map<number> {
	return doc.getMap<number>('activity');
}

export function leavingMap(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('leaving');
}

/** A peer's document may hold anything: a name is shown only when it is a sensible string. */
export function isDeviceName(value: unknown): value is string {
	return typeof value === 'string' && value.trim().length > 0 && value.length <= MAX_DEVICE_NAME_LENGTH;
}
