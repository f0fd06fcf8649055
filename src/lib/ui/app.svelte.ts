/**
 * The state every screen shares: this browser's session, if it holds an account, and why it was
 * logged out, once it was. The session is a plain object that says `changed`; `app.version` rises
 * on each change, and `watched()` reads it, so a `$derived` that calls `watched()` re-runs.
 *
 * The sync core (WebRTC, Yjs, crypto: `../session` and `../platform/browser`) is most of the app's
 * code. Nothing here imports it but by `import()`, once this browser holds an account, so that the
 * welcome screen opens without it (`loadCore`; the create and link screens call it too).
 */
import type { LogoutReason } from '../identity/account-trust';
import type { Session } from '../session';
import { canOpenDataChannels } from '../platform/webrtc';

export const app = $state({
	loading: true,
	/**
	 * This browser can open WebRTC data channels. Without (not built in, or switched off), it links
	 * no device and reaches none directly: the screens say so, and the link flows start nothing.
	 */
	peerToPeer: typeof window !== 'undefined' && canOpenDataChannels(window),
	/** Samen is open in another tab of this browser, which holds the device's connection. */
	elsewhere: false,
	session: undefined as Session | undefined,
	/** Set once the session wiped this device: the screens show why, and nothing else. */
	loggedOut: undefined as LogoutReason | undefined,
	version: 0,
	/** A newer build of Samen is installed and waits for the user's *Update*. */
	updateReady: false,
	error: undefined as string | undefined
});

let detach: (() => void)[] = [];

/** How often, at most, the screens redraw for changes of the session. */
const SCREEN_UPDATE_MS = 16;
const SYNCING_SCREEN_UPDATE_MS = 100;

// Benchmark builds only: the measuring script reaches the session (../bench/hooks.ts).
if (import.meta.env.VITE_SAMEN_BENCH) void import('../bench/hooks').then(({ install }) => install(() => app.session));

export function adopt(session: Session): void {
	for (const off of detach.splice(0)) off();
	app.session = session;
	// A history sync changes the session hundreds of times a second: the screens follow at most
	// once per frame's time, not once per change. A change after a quiet frame shows at once (a
	// message arriving); one within a frame of the last shown waits for the frame's end.
	let pending: ReturnType<typeof setTimeout> | undefined;
	let pendingWhileSyncing = false;
	let shownAt = Number.NEGATIVE_INFINITY;
	const show = () => {
		pending = undefined;
		shownAt = performance.now();
		app.version++;
	};
	detach = [
		session.on('changed', () => {
			// While history arrives the screens follow its progress less often: the device has the sync
			// to do. Its end shows within a frame.
			const syncing = session.receivingHistory;
			if (pending !== undefined) {
				if (!pendingWhileSyncing || syncing) return;
				clearTimeout(pending);
				pending = undefined;
			}
			pendingWhileSyncing = syncing;
			const wait = shownAt + (syncing ? SYNCING_SCREEN_UPDATE_MS : SCREEN_UPDATE_MS) - performance.now();
			if (wait <= 0) show();
			else pending = setTimeout(show, wait);
		}),
		() => clearTimeout(pending),
		session.on('logged-out', (reason) => {
			app.loggedOut = reason;
			app.version++;
		})
	];
	if (session.loggedOut) app.loggedOut = session.loggedOut;
	else session.connect();
	app.version++;
}

/**
 * One tab is the device: it alone opens the account and connects. Other tabs of the same browser
 * say so and can take over; two tabs never count as two devices, nor does one stand in for another.
 */
const DEVICE_LOCK = 'samen-device';
const tabs = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel('samen-tabs');
let releaseDeviceLock: (() => void) | undefined;

/** Holds the device lock for this tab; false when another tab holds it. */
function holdDeviceLock(wait: boolean): Promise<boolean> {
	if (!navigator.locks) return Promise.resolve(true);
	return new Promise((resolve) => {
		void navigator.locks.request(DEVICE_LOCK, { ifAvailable: !wait }, (lock) => {
			if (!lock) return resolve(false);
			resolve(true);
			return new Promise<void>((release) => (releaseDeviceLock = release));
		});
	});
}

tabs?.addEventListener('message', (event) => {
	if (event.data !== 'take-over' || !releaseDeviceLock) return;
	// Another tab of this browser becomes the device: this one lets go of everything.
	const session = app.session;
	app.session = undefined;
	app.elsewhere = true;
	app.version++;
	void session?.close().finally(() => {
		releaseDeviceLock?.();
		releaseDeviceLock = undefined;
	});
});

// A page being hidden may never run again (a phone freezes it, a tab is closed): leave what is owed now.
if (typeof document !== 'undefined') {
	document.addEventListener('visibilitychange', () => {
		if (document.visibilityState === 'hidden') app.session?.depositNow();
	});
	window.addEventListener('pagehide', () => app.session?.depositNow());
}

/** From a tab that is not the device: makes it the device, the other tab steps back. */
export async function useHere(): Promise<void> {
	app.loading = true;
	tabs?.postMessage('take-over');
	await holdDeviceLock(true);
	app.elsewhere = false;
	await openSession();
}

export async function loadSession(): Promise<void> {
	if (!(await holdDeviceLock(false))) {
		app.elsewhere = true;
		app.loading = false;
		return;
	}
	await openSession();
}

/** The sync core, loaded once, on first use; the chat list's screen comes with it. */
export function loadCore(): Promise<{ Session: typeof Session; browserPlatform: typeof import('../platform/browser').browserPlatform }> {
	core ??= Promise.all([import('../session'), import('../platform/browser')]).then(([session, platform]) => ({
		Session: session.Session,
		browserPlatform: platform.browserPlatform
	}));
	// A failed download (offline before the core was ever cached) is tried again on the next call.
	core.catch(() => (core = undefined));
	// Every session opens on the chat list (../../routes/(chats)/+layout.svelte): fetched beside the core, not after
	// it. A failure shows there, where it is imported again.
	import('./ChatsScreen.svelte').catch(() => undefined);
	return core;
}
let core: ReturnType<typeof loadCore> | undefined;

/**
 * False only when this browser surely holds no account: it has no records database at all. A browser
 * that cannot list its databases is asked the long way, by the core.
 */
async function mayHoldAccount(): Promise<boolean> {
	if (typeof indexedDB === 'undefined' || !indexedDB.databases) return true;
	try {
		return (await indexedDB.databases()).some((database) => database.name === RECORDS_DATABASE);
	} catch {
		// Listing refused (a private mode may): the core opens the records and finds out.
		return true;
	}
}
/** The database `IndexedDbKeyValueStore` keeps the device's keys in (../storage/indexeddb.ts). */
const RECORDS_DATABASE = 'samen-records';

async function openSession(): Promise<void> {
	try {
		if (!(await mayHoldAccount())) return;
		const { Session, browserPlatform } = await loadCore();
		const session = await Session.restore(browserPlatform());
		if (session) adopt(session);
	} catch (error) {
		app.error = (error as Error).message;
	} finally {
		app.loading = false;
	}
}

/**
 * The session while it holds an account; undefined from the moment it starts logging out, so that
 * no screen reads from storage that is being wiped. Call it inside each `$derived` that reads the
 * session: a derived that holds the session itself returns the same object on every change, and
 * Svelte does not re-run what depends on an unchanged value.
 */
export function watched(): Session | undefined {
	void app.version;
	const session = app.session;
	return session && !session.loggedOut && !session.wiping ? session : undefined;
}

/** Between the start of a logout and the end of the wipe. */
export function loggingOut(): boolean {
	void app.version;
	return !!app.session?.wiping && !app.loggedOut;
}

/** After a logout: back to the welcome screen, from a fresh page. */
export function startOver(): void {
	location.assign('/');
}

/**
 * A new build is never swapped in under the user (../../service-worker.ts): its worker installs and
 * waits, and the screens offer *Update*. The browser looks for a new worker when a page opens; an
 * app that stays open looks every hour and whenever it comes back to the foreground.
 */
export function watchForUpdates(): void {
	const workers = typeof navigator === 'undefined' ? undefined : navigator.serviceWorker;
	if (!workers) return;
	void workers.ready.then((registration) => {
		const offer = () => {
			// Without a controller this is the first worker, which takes over by itself.
			if (!registration.waiting || !workers.controller) return;
			waiting = registration.waiting;
			app.updateReady = true;
		};
		offer();
		registration.addEventListener('updatefound', () => {
			const installing = registration.installing;
			installing?.addEventListener('statechange', () => {
				if (installing.state === 'installed') offer();
			});
		});
		// Every tab that offered the update follows the one where the user took it: a page of the old
		// version cannot load its files from the new version's cache.
		workers.addEventListener('controllerchange', () => {
			if (app.updateReady) location.reload();
		});
		const check = () => {
			// Offline, or the server is away: the next check asks again.
			registration.update().catch(() => undefined);
		};
		setInterval(check, UPDATE_CHECK_MS);
		document.addEventListener('visibilitychange', () => {
			if (document.visibilityState === 'visible') check();
		});
	});
}
const UPDATE_CHECK_MS = 60 * 60 * 1000;
let waiting: ServiceWorker | undefined;

/**
 * The user's *Update*: the waiting worker takes over, and the page reloads into it. The reload follows
 * `controllerchange` or the worker's own `activated`, whichever the browser reports first: under load
 * Chromium has been seen to leave the page's controller event late while the worker was already active.
 */
export async function applyUpdate(): Promise<void> {
	const registration = await navigator.serviceWorker.getRegistration();
	// The registration's present waiting worker: a newer check may have replaced the one offered.
	const next = registration?.waiting ?? waiting;
	if (!next) return location.reload();
	let reloading = false;
	const reload = () => {
		if (reloading) return;
		reloading = true;
		location.reload();
	};
	navigator.serviceWorker.addEventListener('controllerchange', reload, { once: true });
	next.addEventListener('statechange', () => {
		if (next.state === 'activated') reload();
	});
	next.postMessage('skip-waiting');
}
