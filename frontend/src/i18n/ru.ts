// Russian, the default language. Its keys define the dictionary type that
// every other language must match exactly (see dictionary.ts).
// Placeholders are written {name} and filled by `t(key, { name })`.
// The messages of error codes are a second table, keyed by the codes themselves.
import type { ClientErrorCode } from '../api/client'
import type { ErrorCode } from '../api/types'

/** A message for every error code: the API's and the app's own. */
export type ErrorMessages = Record<ErrorCode | ClientErrorCode, string>

export const ru = {
  'app.name': 'Weld Assistant',
  'app.tagline': 'Сварочный помощник',
  'app.documentTitle': '{view} — Weld Assistant',
  'notice.insecureCookie':
    'Браузер не сохраняет cookie сессии по незащищённому HTTP. Откройте сайт по HTTPS или попросите администратора задать WELD_COOKIE_SECURE=false для работы в локальной сети.',
  'offline.title': 'Нет соединения',
  'offline.detail': 'сохранённые чаты и анализы доступны, отправка снова заработает, когда связь вернётся.',

  'nav.label': 'Разделы',
  'nav.chat': 'Помощник',
  'nav.analyze': 'Анализ шва',

  'language.label': 'Язык интерфейса',
  'language.ru': 'Русский',
  'language.en': 'English',
  'theme.light': 'Светлая тема',
  'theme.lightHint': 'Светлая контрастная тема — для яркого света',

  'common.retry': 'Повторить',
  'common.loading': 'Загрузка…',
  'common.stop': 'Остановить',
  'answer.stopped': 'Ответ остановлен — показано то, что успело прийти.',
  'answer.incomplete': 'Ответ оборвался — показано то, что успело прийти.',
  'queue.waiting': 'В очереди: {place}, около {estimate}',
  'queue.next': 'В очереди: {place}, вот-вот',
  'ordinal.one': '{n}-й',
  'ordinal.two': '{n}-й',
  'ordinal.few': '{n}-й',
  'ordinal.other': '{n}-й',

  'chat.greeting':
    'Здравствуйте! Я сварочный помощник. Спросите о режимах и технике сварки, электродах и проволоке, защитных газах или дефектах швов.',
  'chat.logLabel': 'Переписка с помощником',
  'chat.you': 'Вы',
  'chat.assistant': 'Помощник',
  'chat.inputLabel': 'Ваш вопрос',
  'chat.placeholder': 'Спросите о сварке…',
  'chat.send': 'Отправить',
  'chat.hint': 'Enter — отправить, Shift+Enter — новая строка',
  'chat.thinking': 'Помощник думает…',
  'chat.answered': 'Помощник ответил.',
  'chat.clear': 'Очистить чат',
  'chat.examplesLabel': 'Примеры вопросов',
  'chat.example1': 'Какой электрод выбрать для стали 09Г2С?',
  'chat.example2': 'Режимы TIG для нержавейки 3 мм?',
  'chat.example3': 'Почему в шве появляются поры?',
  'chat.example4': 'Какой газ выбрать для MIG/MAG по углеродистой стали?',
  'chat.answerActions': 'Ответ помощника: сохранить или скопировать',
  'chat.contextIntro': 'Вот анализ моего сварного шва:',
  'chat.contextAck': 'Понял, это отчёт по вашему шву. Задавайте вопросы по нему.',
  'chat.contextTitle': 'Вопросы по анализу от {date}',
  'chat.contextHint': 'Помощник видит этот отчёт и ответит с учётом него.',

  'analyze.title': 'Анализ сварного шва по фото',
  'analyze.intro':
    'Снимите шов крупно, при хорошем свете: до {max} фото одного шва (лицевая сторона, корень, сбоку, дефект крупным планом). Перед отправкой фото уменьшаются, а метаданные (в том числе GPS) удаляются.',
  'analyze.choose': 'Выбрать фото',
  'analyze.camera': 'Снять камерой',
  'analyze.addMore': 'Добавить фото',
  'analyze.dropHint': 'или перетащите фото сюда, или вставьте (Ctrl+V)',
  'analyze.dropActive': 'Отпустите, чтобы добавить фото',
  'analyze.preparing': 'Готовлю фото…',
  'analyze.photosLabel': 'Фото шва: {count} из {max}',
  'analyze.photoAlt': 'Фото шва {n}',
  'analyze.removePhoto': 'Убрать фото {n}',
  'analyze.limit': 'Можно не больше {max} фото одного шва — лишние не добавлены.',
  'analyze.sizes': 'Размер: {before} → {after}',
  'analyze.sentAsIs': 'Размер: {size} (отправится без изменений)',
  'analyze.noteLabel': 'Заметка (необязательно)',
  'analyze.notePlaceholder': 'TIG, нержавейка 3 мм, вертикаль',
  'analyze.submit': 'Анализировать',
  'analyze.thinking': 'Анализирую фото…',
  'analyze.resultTitle': 'Результат анализа',
  'analyze.ready': 'Анализ готов.',
  'analyze.readyVerdict': 'Анализ готов: {verdict}.',
  'analyze.light': 'Лёгкая отправка: фото до {px} px',
  'analyze.lightOff': 'Для медленной или платной связи: фото уменьшаются сильнее и уходят быстрее.',
  'analyze.lightOn': 'Фото уменьшаются до {px} px по длинной стороне — отправка быстрее и дешевле.',
  'analyze.lightAuto': 'Включено само: связь медленная или включена экономия трафика.',
  'analyze.uploading': 'Отправка фото: {sent} из {total}',
  'analyze.uploadingLeft': 'Отправка фото: {sent} из {total}, осталось около {duration}',
  'analyze.another': 'Новый анализ',

  'report.actionsLabel': 'Сохранить или отправить',
  'report.copy': 'Копировать',
  'report.copied': 'Скопировано',
  'report.copyFailed': 'Не удалось скопировать',
  'report.download': 'Скачать .md',
  'report.print': 'Печать',
  'report.ask': 'Задать вопрос по анализу',
  'report.title': 'Анализ сварного шва',
  'report.note': '**Заметка:** {note}',
  'report.photos': 'фото: {n}',
  'verdict.ok': 'Допустимо',
  'verdict.rework': 'Требует доработки',
  'verdict.reject': 'Брак',

  'saved.title': 'Сохранённые анализы',
  'saved.hint': 'Последние {max} анализов хранятся только на этом устройстве.',
  'saved.open': 'Открыть анализ от',
  'saved.delete': 'Удалить анализ от {date}',
  'saved.close': 'Закрыть',
  'saved.openedTitle': 'Анализ от {date}',
  'saved.thumbAlt': 'Фото шва',

  'access.title': 'Вход по коду доступа',
  'access.intro': 'Этот сервис защищён кодом доступа. Спросите код у того, кто дал вам ссылку.',
  'access.label': 'Код доступа',
  'access.submit': 'Войти',
  'access.checking': 'Проверяю код…',
  'access.empty': 'Введите код доступа.',
  'access.invalid': 'Неверный код. Проверьте его и попробуйте ещё раз.',
  'access.rateLimited': 'Слишком много попыток. Подождите немного и попробуйте снова.',
  'access.rateLimited.wait': 'Слишком много попыток. Подождите {duration} и попробуйте снова.',
  'access.signOut': 'Выйти',
  'access.signOutHint': 'Завершить сессию на этом устройстве',

  'units.bytes': '{n} Б',
  'units.kilobytes': '{n} КБ',
  'units.megabytes': '{n} МБ',
  'units.seconds': '{n} с',
  'units.minutes': '{n} мин',
  'units.hours': '{n} ч',

  'error.rate_limited.wait': 'Слишком много запросов подряд. Повторите через {duration}.',
  'error.budget_exhausted.wait':
    'Дневной лимит запросов к сервису исчерпан. Он обновится в полночь по UTC — попробуйте через {duration}.',
  'error.generic': 'Что-то пошло не так (код: {code}). Попробуйте ещё раз.',
  'error.detail': 'Ответ сервера: {message}',
  'voice.start': 'Задать вопрос голосом',
  'voice.send': 'Закончить запись и отправить',
  'voice.cancel': 'Отменить запись',
  'voice.recording': 'Запись',
  'voice.releaseToSend': 'Отпустите — отправится',
  'voice.tapToSend': 'Нажмите микрофон ещё раз — отправится',
  'voice.elapsed': '{elapsed} из {max}',
  'voice.pending': 'Голосовой вопрос…',
  'voice.unheard': 'Голосовой вопрос',
  'voice.question': 'Голосом',
  'voice.denied': 'Нет доступа к микрофону. Разрешите его сайту в настройках браузера.',
  'voice.noDevice': 'Микрофон не найден.',
  'voice.busy': 'Микрофон занят другим приложением.',
  'voice.insecure': 'Микрофон доступен только по HTTPS.',
  'voice.unsupported': 'Браузер не умеет записывать звук.',
  'voice.failed': 'Не удалось записать звук.',
  'voice.tooShort': 'Слишком коротко: держите микрофон, пока говорите.',
  'voice.dismiss': 'Закрыть',
  'voice.readAloud': 'Прочитать вслух',

} as const satisfies Record<string, string>

/**
 * What each error code means for the person using the app (Russian). Exhaustive: a
 * code of the API (ErrorCode) or of the app itself without a message is a type error.
 */
export const ruErrors: ErrorMessages = {
  invalid_request:
    'Сервер не принял запрос: что-то заполнено неверно. Проверьте текст или фото и попробуйте ещё раз.',
  session_required: 'Сессия не начата или истекла. Обновите страницу и повторите.',
  access_code_invalid: 'Нужен правильный код доступа. Обновите страницу и введите код.',
  cross_site_request:
    'Запрос пришёл не с сайта помощника и отклонён. Откройте помощник по его обычному адресу.',
  not_found: 'Сервер не знает такого адреса. Возможно, приложение обновилось — обновите страницу.',
  method_not_allowed:
    'Сервер не принимает такой запрос по этому адресу. Возможно, приложение обновилось — обновите страницу.',
  request_timeout:
    'Запрос отправлялся слишком долго (например, фото при слабой связи), и сервер перестал его ждать. Проверьте подключение и попробуйте ещё раз.',
  payload_too_large: 'Файл слишком большой для отправки. Выберите фото поменьше или переснимите.',
  unsupported_media_type:
    'Такой формат файла не подходит. Сохраните фото как JPEG или PNG и попробуйте снова.',
  content_blocked:
    'Сервис ИИ отказался отвечать на этот запрос (сработал фильтр безопасности). Переформулируйте вопрос или выберите другое фото.',
  rate_limited: 'Слишком много запросов подряд. Подождите немного и повторите.',
  budget_exhausted:
    'Дневной лимит запросов к сервису исчерпан. Попробуйте завтра: лимит обновляется в полночь по UTC (03:00 по Москве).',
  upstream_error: 'Сервис ИИ ответил ошибкой. Попробуйте ещё раз чуть позже.',
  upstream_auth: 'Сервер не смог подключиться к сервису ИИ: ключ не принят. Сообщите администратору.',
  upstream_region: 'Сервис ИИ не работает из страны, где стоит сервер. Сообщите администратору.',
  internal_error:
    'На сервере произошла внутренняя ошибка. Попробуйте ещё раз; если повторяется — сообщите администратору.',
  gemini_not_configured: 'Сервер ещё не настроен для работы с ИИ. Сообщите администратору.',
  upstream_unavailable: 'Сервис ИИ сейчас перегружен. Подождите минуту и повторите.',
  upstream_quota: 'Лимит сервиса ИИ на сейчас исчерпан. Попробуйте позже.',
  limits_unavailable:
    'Сервис сейчас не может проверить лимиты запросов (их хранилище недоступно), поэтому запрос не выполнен. Попробуйте позже; если это надолго — сообщите администратору.',
  upstream_timeout: 'Сервис ИИ не успел ответить. Повторите; короткий вопрос обрабатывается быстрее.',
  network_error: 'Нет связи с сервером. Проверьте интернет и нажмите «Повторить».',
  not_an_image: 'Это не изображение. Выберите фото (JPEG, PNG, WebP, HEIC).',
  audio_too_long: 'Голосовой вопрос слишком длинный: до минуты.',
}
