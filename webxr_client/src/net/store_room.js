// Which room a store page joins when the URL names none: the store's own default room, so shoppers of
// different stores never share one. The server creates it on demand (GET /api/stores/{scene}/room);
// an older server without that route has only its default room `main`.
import { fetchOptional } from '../api.js';

export const FALLBACK_ROOM = 'main';

/** Room id for a store: the answer's `id`, or `main` when the route is missing (404). Other errors throw. */
export async function storeRoomId(sceneId, fetcher = fetchOptional) {
  const answer = await fetcher(`/api/stores/${encodeURIComponent(sceneId)}/room`);
  return typeof answer?.id === 'string' && answer.id ? answer.id : FALLBACK_ROOM;
}
