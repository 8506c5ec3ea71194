// English. Typed against the Russian dictionary: a missing or extra key is a type error.
import type { Dictionary, ErrorMessages } from './dictionary'

export const en: Dictionary = {
  'app.name': 'Weld Assistant',
  'app.tagline': 'Welding assistant',
  'app.documentTitle': '{view} — Weld Assistant',
  'notice.insecureCookie':
    'The browser does not keep the session cookie over insecure HTTP. Open the site over HTTPS, or ask the administrator to set WELD_COOKIE_SECURE=false for use on a local network.',
  'offline.title': 'No connection',
  'offline.detail': 'saved chats and analyses are here; sending works again once the connection is back.',

  'nav.label': 'Sections',
  'nav.chat': 'Assistant',
  'nav.analyze': 'Weld analysis',

  'language.label': 'Interface language',
  'language.ru': 'Русский',
  'language.en': 'English',
  'theme.light': 'Light theme',
  'theme.lightHint': 'Light, high-contrast theme for bright light',

  'common.retry': 'Retry',
  'common.loading': 'Loading…',
  'common.stop': 'Stop',
  'answer.stopped': 'Answer stopped — showing what had arrived.',
  'answer.incomplete': 'The answer broke off — showing what had arrived.',
  'queue.waiting': 'Waiting: {place}, about {estimate}',
  'queue.next': 'Waiting: {place}, any moment now',
  'ordinal.one': '{n}st',
  'ordinal.two': '{n}nd',
  'ordinal.few': '{n}rd',
  'ordinal.other': '{n}th',

  'chat.greeting':
    'Hello! I am a welding assistant. Ask me about welding parameters and technique, electrodes and wire, shielding gases or weld defects.',
  'chat.logLabel': 'Conversation with the assistant',
  'chat.you': 'You',
  'chat.assistant': 'Assistant',
  'chat.inputLabel': 'Your question',
  'chat.placeholder': 'Ask about welding…',
  'chat.send': 'Send',
  'chat.hint': 'Enter sends, Shift+Enter starts a new line',
  'chat.thinking': 'The assistant is thinking…',
  'chat.answered': 'The assistant has answered.',
  'chat.clear': 'Clear chat',
  'chat.examplesLabel': 'Example questions',
  'chat.example1': 'Which electrode should I use for 09G2S steel?',
  'chat.example2': 'TIG settings for 3 mm stainless steel?',
  'chat.example3': 'Why does porosity appear in a weld?',
  'chat.example4': 'Which shielding gas for MIG/MAG on mild steel?',
  'chat.answerActions': 'Assistant answer: keep or copy',
  'chat.contextIntro': 'Analysis of my weld:',
  'chat.contextAck': 'Got it, this is the report on your weld. Ask me about it.',
  'chat.contextTitle': 'Questions about the analysis of {date}',
  'chat.contextHint': 'The assistant sees this report and answers with it in mind.',

  'analyze.title': 'Weld analysis from photos',
  'analyze.intro':
    'Take close-ups of the weld in good light: up to {max} photos of one weld (face, root, side, a close-up of a defect). Before upload the photos are downsized and their metadata (including GPS) is removed.',
  'analyze.choose': 'Choose photos',
  'analyze.camera': 'Take photo',
  'analyze.addMore': 'Add photo',
  'analyze.dropHint': 'or drop photos here, or paste one (Ctrl+V)',
  'analyze.dropActive': 'Release to add the photos',
  'analyze.preparing': 'Preparing the photo…',
  'analyze.photosLabel': 'Weld photos: {count} of {max}',
  'analyze.photoAlt': 'Weld photo {n}',
  'analyze.removePhoto': 'Remove photo {n}',
  'analyze.limit': 'At most {max} photos of one weld — the extra ones were not added.',
  'analyze.sizes': 'Size: {before} → {after}',
  'analyze.sentAsIs': 'Size: {size} (sent unchanged)',
  'analyze.noteLabel': 'Note (optional)',
  'analyze.notePlaceholder': 'TIG, stainless 3 mm, vertical',
  'analyze.submit': 'Analyze',
  'analyze.thinking': 'Analyzing the photos…',
  'analyze.resultTitle': 'Analysis result',
  'analyze.ready': 'The analysis is ready.',
  'analyze.readyVerdict': 'The analysis is ready: {verdict}.',
  'analyze.light': 'Light upload: photos up to {px} px',
  'analyze.lightOff': 'For a slow or metered connection: photos are made smaller and upload faster.',
  'analyze.lightOn': 'Photos are downsized to {px} px on the long side: a faster, cheaper upload.',
  'analyze.lightAuto': 'Turned on by itself: the connection is slow or data saver is on.',
  'analyze.uploading': 'Uploading photos: {sent} of {total}',
  'analyze.uploadingLeft': 'Uploading photos: {sent} of {total}, about {duration} left',
  'analyze.another': 'New analysis',

  'report.actionsLabel': 'Keep or share',
  'report.copy': 'Copy',
  'report.copied': 'Copied',
  'report.copyFailed': 'Could not copy',
  'report.download': 'Download .md',
  'report.print': 'Print',
  'report.ask': 'Ask about this analysis',
  'report.title': 'Weld analysis',
  'report.note': '**Note:** {note}',
  'report.photos': 'photos: {n}',
  'verdict.ok': 'Acceptable',
  'verdict.rework': 'Needs rework',
  'verdict.reject': 'Reject',

  'saved.title': 'Saved analyses',
  'saved.hint': 'The last {max} analyses are kept on this device only.',
  'saved.open': 'Open the analysis of',
  'saved.delete': 'Delete the analysis of {date}',
  'saved.close': 'Close',
  'saved.openedTitle': 'Analysis of {date}',
  'saved.thumbAlt': 'Weld photo',

  'access.title': 'Access code required',
  'access.intro': 'This service is protected by an access code. Ask the person who gave you the link.',
  'access.label': 'Access code',
  'access.submit': 'Sign in',
  'access.checking': 'Checking the code…',
  'access.empty': 'Enter the access code.',
  'access.invalid': 'Wrong code. Check it and try again.',
  'access.rateLimited': 'Too many attempts. Wait a little and try again.',
  'access.rateLimited.wait': 'Too many attempts. Wait {duration} and try again.',
  'access.signOut': 'Sign out',
  'access.signOutHint': 'End the session on this device',

  'units.bytes': '{n} B',
  'units.kilobytes': '{n} KB',
  'units.megabytes': '{n} MB',
  'units.seconds': '{n} s',
  'units.minutes': '{n} min',
  'units.hours': '{n} h',

  'error.rate_limited.wait': 'Too many requests in a row. Try again in {duration}.',
  'error.budget_exhausted.wait':
    'The service’s daily request limit is used up. It resets at midnight UTC — try again in {duration}.',
  'error.generic': 'Something went wrong (code: {code}). Please try again.',
  'error.detail': 'Server said: {message}',
  'voice.start': 'Ask by voice',
  'voice.send': 'Stop recording and send',
  'voice.cancel': 'Cancel recording',
  'voice.recording': 'Recording',
  'voice.releaseToSend': 'Release to send',
  'voice.tapToSend': 'Press the microphone again to send',
  'voice.elapsed': '{elapsed} of {max}',
  'voice.pending': 'Voice question…',
  'voice.unheard': 'Voice question',
  'voice.question': 'By voice',
  'voice.denied': 'No access to the microphone. Allow it for this site in the browser’s settings.',
  'voice.noDevice': 'No microphone found.',
  'voice.busy': 'The microphone is in use by another app.',
  'voice.insecure': 'The microphone works only over HTTPS.',
  'voice.unsupported': 'This browser cannot record sound.',
  'voice.failed': 'The sound could not be recorded.',
  'voice.tooShort': 'Too short: hold the microphone while you speak.',
  'voice.dismiss': 'Close',
  'voice.readAloud': 'Read aloud',

}

/**
 * What each error code means for the person using the app (English). Exhaustive: a
 * code of the API (ErrorCode) or of the app itself without a message is a type error.
 */
export const enErrors: ErrorMessages = {
  invalid_request:
    'The server did not accept the request: something in it is wrong. Check the text or photo and try again.',
  session_required: 'Your session has not started or has expired. Reload the page and try again.',
  access_code_invalid: 'A valid access code is needed. Reload the page and enter the code.',
  cross_site_request:
    'The request did not come from the assistant’s own site and was refused. Open the assistant at its usual address.',
  not_found: 'The server does not know this address. The app may have been updated — reload the page.',
  method_not_allowed:
    'The server does not accept this kind of request at this address. The app may have been updated — reload the page.',
  request_timeout:
    'Sending took too long (for example, a photo over a weak connection), so the server stopped waiting. Check your connection and try again.',
  payload_too_large: 'The file is too large to send. Choose a smaller photo or take it again.',
  unsupported_media_type:
    'This file format is not accepted. Save the photo as JPEG or PNG and try again.',
  content_blocked:
    'The AI service refused to answer this request (a safety filter was triggered). Rephrase the question or choose another photo.',
  rate_limited: 'Too many requests in a row. Wait a little and try again.',
  budget_exhausted:
    'The service’s daily request limit is used up. Try again tomorrow: the limit resets at midnight UTC.',
  upstream_error: 'The AI service answered with an error. Try again a little later.',
  upstream_auth:
    'The server could not connect to the AI service: its key was refused. Tell the administrator.',
  upstream_region:
    'The AI service does not work from the country where the server runs. Tell the administrator.',
  internal_error:
    'The server hit an internal error. Try again; if it keeps happening, tell the administrator.',
  gemini_not_configured: 'The server is not set up for the AI service yet. Tell the administrator.',
  upstream_unavailable: 'The AI service is overloaded right now. Wait a minute and try again.',
  upstream_quota: 'The AI service’s quota is used up for now. Try again later.',
  limits_unavailable:
    'The service cannot check its request limits right now (their store is unavailable), so the request was not run. Try again later; if it lasts, tell the administrator.',
  upstream_timeout:
    'The AI service did not answer in time. Try again; a shorter question is answered faster.',
  network_error: 'No connection to the server. Check your internet and press “Retry”.',
  not_an_image: 'This is not an image. Choose a photo (JPEG, PNG, WebP, HEIC).',
  audio_too_long: 'The voice question is too long: a minute at most.',
}
