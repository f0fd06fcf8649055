/**
 * The account document (topic "account"), shared by all devices of one account:
 *
 *   profile : Y.Map  name → string
 *   devices : Y.Map  deviceId → DeviceRecord
 *   chats   : Y.Map  chatId → ChatRecord
 *   months  : Y.Map  "chatId/YYYY-MM" → true       which monthly message documents exist
 *   read    : Y.Map  "chatId/deviceId" → epoch ms   how far each device has read each chat
 *
 * Values are plain JSON so each entry is one Yjs item (see FIELD-NOTES).
 */
import type * as Y from 'yjs';

export const ACCOUNT_TOPIC = 'account';
export const MAX_LINKED_DEVICES = 4;

export type DeviceRole = 'primary' | 'companion';

export interface DeviceRecord {
	id: string;
	name: string;
	role: DeviceRole;
	linkedAt: number;
}

export interface ChatRecord {
	id: string;
	title: string;
	kind: 'self';
	createdAt: number;
}

export function profileMap(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('profile');
}
export function devicesMap(doc: Y.Doc): Y.Map<DeviceRecord> {
	return doc.getMap<DeviceRecord>('devices');
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
