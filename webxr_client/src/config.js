// Page options from the URL (?scene=, ?room=, ?name=, ?height=, ?simple=1, ?emulate=quest3, ?net=0, ?advisor=1;
// ?join=CODE is read by social/social.js) and the page's
// <meta name="plaza-default-scene"> which the server fills from its --scene flag.

export function readConfig(location = window.location, doc = document) {
  const q = new URLSearchParams(location.search);
  const meta = doc.querySelector('meta[name="plaza-default-scene"]');
  const defaultScene = meta && !meta.content.includes('%') ? meta.content : 'boutique';
  return {
    sceneId: cleanId(q.get('scene')) || defaultScene,
    roomId: cleanId(q.get('room')) || null,
    name: (q.get('name') || '').slice(0, 32) || null,
    height: q.get('height'), // metres, checked by avatar_body.js validHeight
    simplified: q.get('simple') === '1',
    emulate: q.get('emulate') || null, // IWER device: quest3 | quest2 | questpro
    networking: q.get('net') !== '0',
    advisor: q.get('advisor') === '1', // the advisor page: a staff key, the queue of shoppers' calls
    inputProfilesPath: window.PLAZA_ASSETS?.inputProfiles || '/vendor/input-profiles-missing/',
  };
}

function cleanId(value) {
  return value && /^[a-z0-9][a-z0-9_-]{0,63}$/i.test(value) ? value : null;
}
