/**
 * The screen's width class. From 900 px wide the chat list stands beside the open chat; below, the
 * list and a chat are separate screens, as on a phone.
 */
import { MediaQuery } from 'svelte/reactivity';

export const WIDE_MIN_PX = 900;
export const wide = new MediaQuery(`min-width: ${WIDE_MIN_PX}px`);
