/**
 * The network as the core sees it: a room of peers that exchange opaque byte messages.
 * Adapters (WebRTC over the signaling server, in-memory for tests) implement this; nothing above
 * knows about sockets, ICE or chunking. Modelled on automerge-repo's NetworkAdapterInterface.
 */
import type { Emitter } from '../util/emitter';

export type PeerId = string;

/** `offline`: cannot reach the rendezvous point; `connecting`: trying; `online`: in the room. */
export type TransportStatus = 'offline' | 'connecting' | 'online';

export interface MailboxEntry {
	id: string;
	data: Uint8Array;
}

export type TransportEvents = {
	'peer-connected': PeerId;
	'peer-disconnected': PeerId;
	message: { peer: PeerId; data: Uint8Array };
	status: TransportStatus;
	/** Sealed frames that other devices of the room left while this one was away. */
	mailbox: MailboxEntry[];
	/** After joining: every entry that waited was handed over (in zero or more 'mailbox' events). */
	'mailbox-end': void;
};

/**
 * What lets a device use its room's mailbox: the room's public key, whose hash is the room id, and
 * a signer that holds the secret half (./signaling-protocol.ts, "The room is a capability"). It
 * signs only mailbox operations: the purpose label is bound inside `sign`.
 */
export interface RoomAuth {
	readonly publicKey: Uint8Array;
	sign(message: Uint8Array): Uint8Array;
}

/**
 * How a device is in a room: `meet`, to open channels to the peers there (and use the mailbox);
 * `mailbox`, to use the room's mailbox only, seen by no peer (an earlier day's room it catches up on).
 */
export type RoomMode = 'meet' | 'mailbox';

/** A store-and-forward box for the room, for when no peer is there to take a message. */
export interface RoomMailbox {
	/**
	 * True once the mailbox stored the entry; false when it refused it (full, or this transport has
	 * not the room's key) or could not be reached.
	 */
	deposit(entry: MailboxEntry): Promise<boolean>;
	/** Deletes entries this device has applied; nothing without the room's key. */
	take(ids: string[]): void;
}

export interface Transport extends Emitter<TransportEvents> {
	readonly status: TransportStatus;
	/** Peers with an open channel right now. */
	readonly peers: ReadonlySet<PeerId>;
	/**
	 * Whether this end opened the channel to `peer`. Exactly one end of every channel is the
	 * initiator, so a handshake above knows which side speaks first without a round trip.
	 */
	isInitiator(peer: PeerId): boolean;
	/** Joins the room and keeps trying to stay in it until `close`. */
	connect(): void;
	/** Delivers one whole message, in order, to one peer; messages of any size. */
	send(peer: PeerId, data: Uint8Array): void;
	close(): void;
	/** Present when the rendezvous point keeps a mailbox for the room. */
	readonly mailbox?: RoomMailbox;
}
