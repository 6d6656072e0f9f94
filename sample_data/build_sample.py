"""Build sample_data/sample.warc.gz: a small raw web dump for `make demo`, written for this project.

Every page is original text written for curate (no crawled content). The dump is deterministic
(fixed dates, record ids from uuid5, gzip members without timestamps), so rebuilding gives the same
bytes. One gzip member per record, as Common Crawl writes them: a `warcinfo` record, then a
`request` and a `response` (HTTP headers included) per page.

What is in it, so every stage has something to do:
- good prose in English, German, French, Spanish, Russian, Chinese, Japanese, Vietnamese and Arabic
  (100-600 words), inside navigation, cookie banner and footer boilerplate;
- a composting article at five URLs with small edits (near duplicates) and two mirrored pages
  (exact duplicates);
- mojibake: a Vietnamese page with lossy UTF-8/Windows-1252 damage, a French page whose UTF-8 was
  decoded as Windows-1252 once (ftfy's classic case), a German page in Windows-1252 served as UTF-8
  (wrong declared charset), and pages in windows-1251 and GBK with correct headers;
- spam: keyword stuffing, repeated lines, lorem ipsum, two near-empty pages;
- two rude forum pages (mild English profanity), contact pages with e-mail addresses, phone numbers
  and IP addresses, a tiny PDF, a 404, and a page on a domain with an adult word in it.

Run: `python sample_data/build_sample.py` (writes next to this file).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent / "sample.warc.gz"
NAMESPACE = uuid.UUID("6f1c2d0e-3b7a-4c55-9a21-5d0c1e2f3a4b")
START = datetime(2024, 3, 4, 9, 0, 0, tzinfo=timezone.utc)


@dataclass
class Page:
    url: str
    title: str
    paragraphs: list[str]
    lang: str = "en"
    charset: str = "utf-8"  # how the body is encoded
    declared: str | None = "utf-8"  # what the Content-Type header says (None: no charset parameter)
    status: int = 200
    content_type: str = "text/html"
    body: bytes | None = None  # a payload given as is (PDF, plain pages)
    damage: str | None = None  # "lossy" or "double": mojibake applied to the text before encoding
    boilerplate: bool = True
    extra_html: str = ""
    headers: dict[str, str] = field(default_factory=dict)


# --- boilerplate -----------------------------------------------------------------------------------

CHROME = {
    "en": ("Home", "News", "Guides", "About us", "Contact",
           "We use cookies to improve your experience. By continuing you accept our cookie policy.",
           "Accept all", "Manage settings", "Related posts", "All rights reserved.", "Privacy policy", "Terms of use",
           "Subscribe to our newsletter"),
    "de": ("Startseite", "Aktuelles", "Ratgeber", "Über uns", "Kontakt",
           "Wir verwenden Cookies, um Ihr Nutzungserlebnis zu verbessern.", "Alle akzeptieren", "Einstellungen",
           "Ähnliche Beiträge", "Alle Rechte vorbehalten.", "Datenschutz", "Impressum", "Newsletter abonnieren"),
    "fr": ("Accueil", "Actualités", "Guides", "À propos", "Contact",
           "Nous utilisons des cookies pour améliorer votre expérience.", "Tout accepter", "Paramètres",
           "Articles similaires", "Tous droits réservés.", "Confidentialité", "Mentions légales",
           "S'abonner à la lettre d'information"),
    "es": ("Inicio", "Noticias", "Guías", "Quiénes somos", "Contacto",
           "Usamos cookies para mejorar su experiencia.", "Aceptar todo", "Configurar", "Entradas relacionadas",
           "Todos los derechos reservados.", "Privacidad", "Aviso legal", "Suscríbase al boletín"),
    "ru": ("Главная", "Новости", "Статьи", "О нас", "Контакты",
           "Мы используем файлы cookie, чтобы сайт работал лучше.", "Принять", "Настроить", "Похожие статьи",
           "Все права защищены.", "Конфиденциальность", "Условия", "Подписаться на рассылку"),
    "zh": ("首页", "新闻", "指南", "关于我们", "联系我们", "本网站使用 Cookie 以改善您的浏览体验。", "全部接受", "设置",
           "相关文章", "版权所有。", "隐私政策", "使用条款", "订阅我们的通讯"),
    "ja": ("ホーム", "ニュース", "ガイド", "会社概要", "お問い合わせ", "当サイトでは利便性向上のためCookieを使用しています。",
           "すべて許可", "設定", "関連記事", "無断転載を禁じます。", "プライバシーポリシー", "利用規約", "メールマガジン登録"),
    "vi": ("Trang chủ", "Tin tức", "Hướng dẫn", "Giới thiệu", "Liên hệ",
           "Chúng tôi sử dụng cookie để cải thiện trải nghiệm của bạn.", "Đồng ý", "Cài đặt", "Bài viết liên quan",
           "Bảo lưu mọi quyền.", "Chính sách bảo mật", "Điều khoản", "Đăng ký nhận bản tin"),
    "ar": ("الرئيسية", "الأخبار", "أدلة", "من نحن", "اتصل بنا", "نستخدم ملفات تعريف الارتباط لتحسين تجربتك.",
           "قبول الكل", "الإعدادات", "مقالات ذات صلة", "جميع الحقوق محفوظة.", "سياسة الخصوصية", "شروط الاستخدام",
           "اشترك في النشرة البريدية"),
}


def render(page: Page, site: str) -> str:
    """The page's HTML: text escaped, boilerplate around the article unless the page has none."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    article = f"<article>\n<h1>{html.escape(page.title)}</h1>\n{body}\n{page.extra_html}</article>"
    direction = ' dir="rtl"' if page.lang == "ar" else ""
    head = (
        f'<!DOCTYPE html>\n<html lang="{page.lang}"{direction}>\n<head>\n<meta charset="{page.declared or page.charset}">\n'
        f"<title>{html.escape(page.title)} | {site}</title>\n</head>\n<body>\n"
    )
    if not page.boilerplate:
        return f"{head}{article}\n</body>\n</html>\n"
    (home, news, guides, about, contact, cookie, accept, manage, related, rights, privacy, terms, subscribe) = CHROME[
        page.lang
    ]
    nav = (
        f'<header><div class="logo">{site}</div><nav><ul><li><a href="/">{home}</a></li><li><a href="/news">{news}</a></li>'
        f'<li><a href="/guides">{guides}</a></li><li><a href="/about">{about}</a></li>'
        f'<li><a href="/contact">{contact}</a></li></ul></nav></header>\n'
    )
    banner = (
        f'<div id="cookie-banner" class="cookie-consent"><p>{cookie}</p>'
        f"<button>{accept}</button><button>{manage}</button></div>\n"
    )
    aside = (
        f'<aside class="sidebar"><h3>{related}</h3><ul><li><a href="/p/1">{guides} 1</a></li>'
        f'<li><a href="/p/2">{guides} 2</a></li><li><a href="/p/3">{news}</a></li></ul>'
        f'<form><label>{subscribe}</label><input type="email"><button>OK</button></form></aside>\n'
    )
    footer = (
        f'<footer><p>© 2024 {site}. {rights}</p><p><a href="/privacy">{privacy}</a> | <a href="/terms">{terms}</a> | '
        f'<a href="/contact">{contact}</a></p></footer>\n'
    )
    return f"{head}{banner}{nav}<main>\n{article}\n</main>\n{aside}{footer}</body>\n</html>\n"


def lossy_mojibake(text: str) -> str:
    """UTF-8 bytes read as Windows-1252, the five bytes it leaves undefined dropped (as on the web)."""
    return text.encode("utf-8").decode("cp1252", errors="ignore")


def double_encoded(text: str) -> str:
    """UTF-8 bytes read as Windows-1252 with nothing lost: the mojibake ftfy undoes."""
    return text.encode("utf-8").decode("cp1252", errors="replace")


# --- the articles ----------------------------------------------------------------------------------

COMPOST = [
    "A compost heap is the cheapest soil improver a community garden can have, and ours has run for six seasons "
    "on nothing but kitchen scraps, autumn leaves and the patience of volunteers. This guide collects what we "
    "learned, including the mistakes, so that new plot holders can start their own bins with confidence.",
    "The basic rule is balance. Green material such as vegetable peelings, coffee grounds and fresh grass "
    "clippings brings nitrogen, while brown material such as dry leaves, shredded cardboard and straw brings "
    "carbon. We aim for roughly two buckets of brown for every bucket of green. When the heap smells sour or "
    "slimy it needs more brown; when nothing seems to happen for weeks it needs more green and a little water.",
    "Air matters as much as the ingredients. We turn the main bay with a garden fork every two weeks in summer "
    "and once a month in winter. Turning moves the cooler outer layer into the warm centre, where bacteria do "
    "most of the work. A heap that is turned regularly can be ready in three to four months; one that is left "
    "alone will still rot, but it may take a year or more.",
    "Some things never go in our bins: meat, fish, dairy, cooked food with oil, and weeds that have set seed. "
    "They attract rats or survive the process and come back to haunt the beds. Diseased tomato plants go to the "
    "council collection instead, because a small heap rarely gets hot enough to kill blight spores.",
    "Finished compost is dark, crumbly and smells like a forest floor. We sieve it through a frame of wire mesh, "
    "return the coarse bits to the next heap, and spread the rest two or three centimetres deep on the beds in "
    "early spring. Each year the soil holds water a little better and the earthworms are a little more numerous.",
]

ENGLISH = [
    ("https://velo-history.example/articles/how-the-bicycle-came-to-millbrook",
     "How the bicycle came to Millbrook", "Millbrook Local History Society", [
         "The first bicycle seen on Millbrook's high street arrived in the spring of 1869, ridden by a schoolmaster "
         "who had ordered it from a workshop in the city. Contemporary letters describe a heavy wooden machine with "
         "iron tyres that rattled so loudly on the cobbles that shopkeepers came out to watch.",
         "Within twenty years the picture had changed completely. The safety bicycle, with two wheels of equal size "
         "and a chain drive, made cycling practical for people who were not young, brave and wealthy. The town's "
         "blacksmith began repairing frames alongside horseshoes, and by 1895 there were two dedicated cycle shops "
         "on Station Road.",
         "The bicycle quietly reshaped daily life. Farm workers could take jobs in the brick works four miles away "
         "without moving house, and the parish records show a sharp rise in marriages between families from "
         "neighbouring villages. Women in the town formed a touring club in 1897 and published a small booklet of "
         "routes, several copies of which survive in the society's archive.",
         "Our exhibition in the old corn exchange brings together photographs, repair ledgers and two restored "
         "machines. Volunteers will be on hand every Saturday in May to explain how the bicycles were built and "
         "to show visitors how a solid rubber tyre was fitted to a wheel rim.",
     ]),
    ("https://kitchen-notes.example/baking/understanding-sourdough-starters",
     "Understanding sourdough starters", "Kitchen Notes", [
         "A sourdough starter is a small, stable community of wild yeasts and lactic acid bacteria living in a "
         "paste of flour and water. The yeasts produce the gas that makes bread rise, while the bacteria produce "
         "the acids that give the loaf its tang and help it keep for longer.",
         "Starting one takes about a week. Mix equal weights of wholemeal flour and lukewarm water in a clean jar, "
         "cover it loosely and leave it somewhere warm. Each day, discard half and feed it with fresh flour and "
         "water. For the first few days the mixture may smell strange or even rise dramatically and then collapse; "
         "this is normal, as different microbes compete before a stable balance emerges.",
         "A healthy starter doubles in size within four to eight hours of feeding and smells pleasantly sour, a "
         "little like yoghurt or green apples. If a grey liquid collects on top, the starter is simply hungry. Stir "
         "it back in or pour it off, then feed as usual.",
         "Temperature is the easiest thing to adjust. A warm kitchen speeds everything up and favours yeast, "
         "giving a milder bread, while a cool room slows fermentation and lets the bacteria produce more acid. "
         "Many bakers keep their starter in the refrigerator between bakes and feed it once a week.",
     ]),
    ("https://winter-birds.example/blog/birdwatching-in-winter-for-beginners",
     "Birdwatching in winter: a beginner's guide", "Field and Feather", [
         "Winter is an underrated season for watching birds. With the leaves gone, birds are easier to see, and "
         "many species gather in mixed flocks that move through gardens and hedgerows in search of food.",
         "You need very little equipment. A pair of binoculars with a magnification of eight or ten is ideal, "
         "along with a small notebook and warm gloves that still let you turn a focus wheel. A field guide helps, "
         "but it is worth spending the first weeks simply watching how birds behave rather than rushing to name them.",
         "Feeders bring the birds to you. Sunflower hearts attract finches and tits, while fat balls are popular "
         "with woodpeckers and wrens in cold spells. Keep feeders clean and move them every few weeks to prevent "
         "disease, and provide fresh water, which can be harder for birds to find than food when ponds freeze.",
         "Early morning is the busiest time. Sit still near a window or a hedge for twenty minutes and write down "
         "everything you notice: size, colour, the shape of the beak, the way the bird flies. Over a winter you "
         "will build a list of regular visitors and start to recognise them by their calls alone.",
     ]),
    ("https://homefix.example/plumbing/fixing-a-dripping-tap",
     "Fixing a dripping tap in under an hour", "HomeFix", [
         "A tap that drips once a second wastes more than ten thousand litres of water a year, and the repair is "
         "usually simple. Most drips come from a worn washer or a damaged ceramic cartridge, both of which cost "
         "very little to replace.",
         "Start by turning off the water supply under the sink, then open the tap to drain the pipe. Put the plug "
         "in the basin so that small parts cannot disappear down the drain. Prise off the decorative cap on the "
         "handle, undo the screw beneath it and lift the handle away.",
         "Older taps have a rubber washer held on the end of a brass spindle by a small nut. Take the old washer to "
         "a hardware shop so you can match the size exactly. Newer quarter-turn taps use a ceramic cartridge "
         "instead; these are usually specific to the manufacturer, so note the model before you buy.",
         "Reassemble the tap in reverse order, tightening each part firmly but without force, then turn the water "
         "back on slowly. If the drip continues, the valve seat may be scratched. A seat-cutting tool can smooth "
         "it, but this is the point at which many people sensibly call a plumber.",
     ]),
    ("https://lakeside-news.example/community/library-reopens-after-renovation",
     "Lakeside library reopens after eighteen-month renovation", "Lakeside News", [
         "The public library on Harbour Street reopened on Saturday after an eighteen-month renovation that "
         "doubled the space for children and added a workshop room with sewing machines, a 3D printer and tools "
         "that members can borrow.",
         "Hundreds of residents queued before the doors opened. Many said they had missed the reading room most, "
         "and the architects have kept its tall windows and oak shelves while replacing the heating and adding "
         "step-free access from the car park.",
         "The head librarian said that the project had been shaped by a year of public meetings. Parents asked for "
         "a quiet corner for babies and toddlers, teenagers wanted somewhere to study after school, and older "
         "residents asked for more large-print books and help with online services. All three requests appear in "
         "the new floor plan.",
         "Opening hours have been extended to eight in the evening on weekdays. The library will run free "
         "introductory sessions for the workshop room throughout the spring, and volunteers are still needed for "
         "the homework club on Tuesday and Thursday afternoons.",
     ]),
    ("https://skyward-science.example/optics/why-rainbows-are-curved",
     "Why rainbows are curved", "Skyward Science", [
         "A rainbow appears when sunlight enters millions of falling raindrops, bends, reflects once off the back "
         "of each drop and bends again as it leaves. Because different colours bend by slightly different amounts, "
         "the white light is spread into a spectrum.",
         "The curve comes from geometry rather than from anything special about the sky. Each drop sends the "
         "strongest red light back at an angle of about forty-two degrees from the point directly opposite the sun, "
         "and violet light at about forty degrees. Every drop that sits at that angle from your eye contributes the "
         "same colour, and the set of all such points forms a circle around the shadow of your head.",
         "We usually see only an arc because the ground gets in the way. From an aeroplane or a high mountain, when "
         "there are raindrops below as well as in front, it is possible to see the whole circle.",
         "Sometimes a fainter second bow appears outside the first, with its colours reversed. It is produced by "
         "light that reflects twice inside each drop. The band of sky between the two bows looks darker than the "
         "rest, an effect first described by Alexander of Aphrodisias about eighteen hundred years ago.",
     ]),
    ("https://small-charity-hub.example/guides/budgeting-for-a-small-nonprofit",
     "Budgeting for a small nonprofit", "Small Charity Hub", [
         "A budget is not just a spreadsheet for the treasurer. For a small nonprofit it is a plan that turns the "
         "organisation's goals into numbers everyone can discuss, and it is one of the first documents funders ask "
         "to see.",
         "Begin with the activities rather than the accounts. List what the organisation intends to do next year, "
         "then estimate what each activity will cost in staff time, materials, venues and travel. Add the running "
         "costs that belong to no single project, such as insurance, bookkeeping and the website.",
         "Income estimates should be cautious. Separate money that is already promised from money you hope to "
         "raise, and never count a grant before the letter arrives. Many small charities aim to hold reserves equal "
         "to three months of running costs, so that a late payment does not become a crisis.",
         "Finally, review the budget every quarter against what actually happened. Differences are not failures; "
         "they are information. A board that understands why spending was higher or lower than planned can make "
         "better decisions than one that only sees the final total at the end of the year.",
     ]),
    ("https://adult-learners.example/music/learning-to-read-music-as-an-adult",
     "Learning to read music as an adult", "Adult Learners Network", [
         "Many adults believe that reading music is something you either learn as a child or never learn at all. "
         "In practice, adults often progress faster at first, because they can understand the system behind the "
         "notation instead of memorising it by rote.",
         "Start with rhythm before pitch. Clap simple patterns of crotchets and quavers while counting aloud, then "
         "move on to rests and dotted notes. Once rhythm feels natural, learning where the notes sit on the stave is "
         "mostly a matter of regular practice.",
         "Ten minutes a day works better than an hour once a week. Short daily sessions let the brain consolidate "
         "what it has learned, and they are easier to fit around work and family. Flashcards and free apps can help "
         "with note names, but playing real tunes on an instrument keeps practice enjoyable.",
         "Join a community choir or beginners' band if you can. Reading alongside other people forces you to keep "
         "going when you make a mistake, which is exactly the habit that separates confident readers from anxious ones.",
     ]),
    ("https://coastal-walks.example/nature/what-lives-in-a-rock-pool",
     "What lives in a rock pool?", "Coastal Walks", [
         "When the tide goes out, the hollows in a rocky shore become small worlds of their own. Rock pools are "
         "warmed by the sun, diluted by rain and cut off from the sea for hours at a time, so the animals living "
         "in them have to cope with rapid change.",
         "Look first at the edges. Limpets clamp themselves to the rock and return to the same spot after every "
         "tide, grinding a scar that fits their shells exactly. Beadlet anemones close into red blobs of jelly when "
         "exposed and open their tentacles again once the water returns.",
         "Lift weed gently and you may find shore crabs, prawns and small fish such as blennies, which can survive "
         "out of water for a while by breathing through their skin. Always put stones back the way you found them, "
         "because the animals underneath depend on that shade and moisture.",
         "The best pools lie low on the shore and are uncovered only during spring tides, around the new and full "
         "moon. Check a tide table before you go, and keep an eye on the water so that you are never cut off.",
     ]),
    ("https://trail-reports.example/2024/03/ridge-path-in-early-spring",
     "Trail report: the ridge path in early spring", "Trail Reports", [
         "We walked the ridge path from the reservoir car park to the old signal station last weekend. The route is "
         "eleven kilometres with about four hundred metres of climbing, and it took us a little over four hours "
         "with a long lunch stop.",
         "The lower section through the pine plantation is muddy after the winter rain, and two fallen trees "
         "have to be climbed over near the second stile. Above the tree line the path is firm and well marked, "
         "though the cairns are hard to follow in low cloud, so carry a map and compass.",
         "Skylarks were singing over the heather and we saw a pair of ravens tumbling in the wind above the crags. "
         "The view from the signal station reaches the coast on a clear day, and there is a sheltered wall on the "
         "east side that makes a good place to eat.",
         "The descent along the stream is steep and slippery in places. Walking poles help, and the final "
         "kilometre follows a quiet lane back to the car park. Allow extra time if you are walking with children.",
     ]),
    ("https://paper-and-ink.example/crafts/binding-a-notebook-by-hand",
     "Binding a notebook by hand", "Paper and Ink", [
         "A hand-bound notebook takes an afternoon to make and needs only paper, thread, a needle, an awl and some "
         "card for the covers. The simplest structure, a pamphlet stitch, holds a single folded section and is a "
         "good first project.",
         "Fold eight sheets of paper in half one at a time and nest them together. Mark three points along the "
         "fold, one in the middle and two a few centimetres from each end, and pierce them with the awl from the "
         "inside of the fold so that the holes line up through every sheet.",
         "Thread the needle with waxed linen thread about three times the height of the book. Go out through the "
         "middle hole, in through the top, down the inside to the bottom hole, out through it, and back in through "
         "the middle. Tie the ends around the long stitch and trim them.",
         "Once this feels comfortable, try a longer book made of several sections sewn together with a kettle "
         "stitch. The technique is centuries old, and a well-made book will open flat and last for decades.",
     ]),
]

MIRRORS = {  # exact duplicates: the same bytes served under another URL
    "https://kitchen-notes.example/baking/understanding-sourdough-starters":
        "https://kitchen-notes-mirror.example/baking/understanding-sourdough-starters",
    "https://skyward-science.example/optics/why-rainbows-are-curved":
        "http://www.skyward-science.example/optics/why-rainbows-are-curved?utm_source=feed",
}

OTHER_LANGUAGES = [
    Page("https://fahrrad-werkstatt.example/ratgeber/kette-pflegen", "Die Fahrradkette richtig pflegen", [
        "Eine saubere und gut geschmierte Kette macht das Fahrrad leiser, leichter zu treten und verlängert die "
        "Lebensdauer von Ritzeln und Kettenblättern erheblich. Trotzdem wird sie von vielen Radfahrerinnen und "
        "Radfahrern vergessen, bis sie quietscht oder rostet.",
        "Zum Reinigen genügt ein alter Lappen. Man hält ihn locker um die Kette und dreht die Kurbel einige Male "
        "rückwärts, bis kaum noch Schmutz abgeht. Bei starker Verschmutzung hilft ein mildes Entfettungsmittel, "
        "das anschließend gründlich abgewischt werden muss.",
        "Danach wird auf jedes Kettenglied ein kleiner Tropfen Öl gegeben. Nach einigen Minuten wischt man das "
        "überschüssige Öl wieder ab, denn außen an der Kette bindet es nur Staub und Sand. Wer im Winter oft im "
        "Regen fährt, sollte etwa alle zwei Wochen nachölen.",
        "Mit einer einfachen Kettenlehre lässt sich außerdem prüfen, ob die Kette gelängt ist. Eine rechtzeitig "
        "getauschte Kette kostet wenig; wer zu lange wartet, muss oft auch die Zahnräder ersetzen.",
    ], lang="de"),
    Page("https://stadtbuecherei-ahrweiler.example/aktuelles/lesesommer", "Lesesommer in der Stadtbücherei", [
        "Auch in diesem Jahr lädt die Stadtbücherei Kinder und Jugendliche zwischen acht und vierzehn Jahren zum "
        "Lesesommer ein. Von Anfang Juli bis Ende August können die Teilnehmenden so viele Bücher ausleihen, wie "
        "sie möchten, und für jedes gelesene Buch einen Stempel in ihrem Lesepass sammeln.",
        "Wer mindestens drei Bücher gelesen hat, erhält bei der Abschlussfeier im September eine Urkunde. Unter "
        "allen Teilnehmenden werden außerdem Gutscheine der örtlichen Buchhandlung verlost. Die Anmeldung ist "
        "kostenlos und an der Ausleihtheke möglich.",
        "Neu ist in diesem Jahr eine Schreibwerkstatt mit einer Kinderbuchautorin aus der Region. An vier "
        "Nachmittagen entwickeln die Kinder eigene Geschichten, die am Ende in einem kleinen Heft gedruckt werden.",
    ], lang="de"),
    Page("https://marches-de-provence.example/reportages/le-marche-du-samedi", "Le marché du samedi à Lourmarin", [
        "Chaque samedi matin, la place du village se remplit dès sept heures. Les maraîchers installent leurs "
        "étals de tomates, de courgettes et de melons, tandis que le fromager déballe ses chèvres frais sous un "
        "grand parasol blanc.",
        "Les habitants viennent autant pour bavarder que pour faire leurs courses. On se retrouve au café d'en "
        "face, on échange des recettes et des nouvelles, et les enfants courent entre les stands de fleurs et de "
        "miel. En été, les touristes s'ajoutent à la foule et il faut arriver tôt pour trouver une place.",
        "La plupart des producteurs viennent de moins de trente kilomètres. Plusieurs d'entre eux cultivent en "
        "agriculture biologique et vendent uniquement des fruits et légumes de saison, ce qui explique l'absence "
        "de fraises en novembre et l'abondance de courges à l'automne.",
        "Le marché se termine vers treize heures. Ceux qui restent jusqu'à la fin repartent souvent avec un "
        "cageot de pêches un peu abîmées, vendu pour quelques euros, parfait pour une confiture.",
    ], lang="fr"),
    Page("https://randonnees-alpines.example/itineraires/lac-blanc", "Randonnée au lac Blanc", [
        "Le sentier du lac Blanc part du parking des Praz et monte régulièrement à travers les mélèzes avant de "
        "déboucher sur un large plateau. Comptez trois heures de montée pour un dénivelé d'environ huit cents mètres.",
        "Le dernier tronçon comporte quelques échelles et passages rocheux équipés de câbles. Ils ne présentent "
        "pas de difficulté particulière par temps sec, mais demandent de la prudence après la pluie.",
        "Au sommet, le lac reflète les aiguilles du massif d'en face. Un refuge propose boissons et repas chauds "
        "de juin à septembre. Pensez à emporter de l'eau, une veste chaude et de la crème solaire, car le soleil "
        "est fort en altitude même quand l'air est frais.",
    ], lang="fr"),
    Page("https://cocina-de-casa.example/recetas/gazpacho-andaluz", "Gazpacho andaluz tradicional", [
        "El gazpacho es una sopa fría que nació en el campo andaluz como comida de jornaleros. Se preparaba con "
        "pan duro, aceite, vinagre, ajo y agua, y con el tiempo se le añadieron el tomate y el pimiento, que hoy "
        "son sus ingredientes principales.",
        "Para cuatro personas se necesita un kilo de tomates maduros, medio pimiento verde, un pepino pequeño, un "
        "diente de ajo, un trozo de pan del día anterior, cien mililitros de aceite de oliva virgen extra, un "
        "chorrito de vinagre de Jerez y sal.",
        "Se trocean las verduras, se remoja el pan y se tritura todo junto hasta obtener una crema fina. El aceite "
        "se añade al final, poco a poco, para que emulsione. Después conviene dejar el gazpacho en la nevera al "
        "menos dos horas.",
        "Se sirve muy frío, en vaso o en cuenco, acompañado de pequeños dados de pepino, pimiento y pan tostado. "
        "Cada familia tiene su versión, y muchas cocineras juran que el secreto está en la calidad del tomate.",
    ], lang="es"),
    Page("https://historias-del-cafe.example/articulos/el-cafe-en-colombia", "Breve historia del café en Colombia", [
        "El café llegó a Colombia en el siglo dieciocho, probablemente de la mano de misioneros jesuitas, pero "
        "durante décadas fue un cultivo secundario. A finales del siglo diecinueve, la expansión de las pequeñas "
        "fincas en las laderas de los Andes lo convirtió en el principal producto de exportación del país.",
        "Las condiciones de la cordillera resultaron ideales: temperaturas suaves, lluvias repartidas durante el "
        "año y suelos volcánicos. Muchas familias cultivaban el café junto al plátano, que daba sombra a los "
        "cafetos y alimento a la casa.",
        "Hoy el país cuenta con más de medio millón de familias cafeteras. La mayoría trabaja parcelas de menos de "
        "cinco hectáreas y recoge los granos a mano, uno por uno, cuando están completamente maduros.",
    ], lang="es"),
    Page("https://dacha-sovety.example/stati/kak-vyrastit-rassadu", "Как вырастить крепкую рассаду", [
        "Крепкая рассада — половина успеха будущего урожая. Чтобы сеянцы не вытягивались и не болели, им нужны "
        "три вещи: много света, умеренное тепло и аккуратный полив.",
        "Семена томатов и перцев сеют в конце февраля или в марте в неглубокие ящики с лёгкой питательной землёй. "
        "До появления всходов ящики держат в тепле под плёнкой, а затем переносят на самое светлое окно, где днём "
        "не слишком жарко.",
        "Поливать рассаду лучше тёплой отстоянной водой и только тогда, когда верхний слой почвы подсохнет. "
        "Постоянная сырость приводит к чёрной ножке, от которой молодые растения погибают за несколько дней.",
        "За две недели до высадки в грунт рассаду начинают закаливать: сначала выносят на балкон на час, затем на "
        "полдня и, наконец, оставляют на ночь, если нет заморозков.",
    ], lang="ru"),
    Page("https://cha-wenhua.example/wenzhang/longjing-cha", "西湖龙井茶的制作", [
        "龙井茶产于杭州西湖周围的山区，是中国最有名的绿茶之一。每年三月下旬到四月初，茶农在清明节前后采摘嫩芽，"
        "这时候的茶叶被称为明前茶，香气清新，价格也最高。",
        "采下的鲜叶先要摊放几个小时，让水分稍微散发。随后茶师在热锅中用手不断翻炒、按压和抖动，使茶叶逐渐变得扁平光滑。"
        "整个过程需要多年的经验，火候稍有偏差，茶叶的颜色和香味就会受到影响。",
        "冲泡龙井时，水温不宜太高，八十度左右最合适。用玻璃杯冲泡可以看到茶芽在水中慢慢舒展，汤色嫩绿明亮，"
        "入口带有淡淡的豆香。",
    ], lang="zh"),
    Page("https://kyoto-sanpo.example/kiji/aki-no-tera", "秋の京都で静かな寺を歩く", [
        "紅葉の季節の京都は多くの観光客でにぎわいますが、少し足をのばせば、落ち着いた雰囲気の寺を楽しむことができます。"
        "朝早い時間に訪れると、庭の掃除をする僧侶の姿や、苔の上に落ちた葉の色をゆっくり眺めることができます。",
        "北の山あいにある小さな寺では、本堂の縁側に座って庭を眺めることができます。風が吹くたびに紅葉がゆれ、"
        "遠くから鳥の声が聞こえてきます。拝観料は数百円で、抹茶と季節の和菓子をいただける茶室もあります。",
        "バスの本数が少ない地域もあるため、事前に時刻表を確認しておくと安心です。歩きやすい靴で出かけ、"
        "寺の決まりを守って静かに見学しましょう。",
    ], lang="ja"),
    Page("https://onsen-tabi.example/guide/nyuyoku-manners", "はじめての温泉マナー", [
        "日本の温泉には、初めての人が戸惑いやすい決まりがいくつかあります。まず、湯船に入る前にかけ湯をして体を洗い、"
        "汗や汚れを落としてから入るのが基本です。",
        "タオルは湯船に入れず、頭の上にのせるか湯船の外に置きます。長い髪はまとめておきましょう。"
        "また、浴室の中で大きな声で話したり、泳いだりするのは避けてください。",
        "湯上がりには水分をしっかりとり、急に立ち上がらないように気をつけます。"
        "地域によって泉質や入浴方法が異なるので、宿の案内を読んでから楽しむとよいでしょう。",
    ], lang="ja"),
    Page("https://am-thuc-viet.example/bai-viet/cach-nau-pho-bo", "Cách nấu phở bò tại nhà", [
        "Phở bò là món ăn quen thuộc của người Việt, nhưng để nấu được nồi nước dùng trong và thơm cần khá nhiều "
        "thời gian. Bí quyết nằm ở xương bò được chần kỹ và các loại gia vị được nướng trước khi cho vào nồi.",
        "Đầu tiên, rửa sạch xương ống rồi chần qua nước sôi khoảng năm phút để loại bỏ bọt bẩn. Gừng và hành tím "
        "được nướng cho thơm, còn quế, hồi và thảo quả được rang nhẹ trên chảo khô.",
        "Ninh xương với lửa nhỏ trong sáu đến tám tiếng, thường xuyên hớt bọt để nước dùng luôn trong. Nêm nước "
        "mắm, muối và một chút đường phèn vào cuối cùng.",
        "Khi ăn, trụng bánh phở qua nước sôi, xếp thịt bò thái mỏng lên trên và chan nước dùng thật nóng. Phở "
        "ngon nhất khi ăn kèm rau thơm, chanh và vài lát ớt tươi.",
    ], lang="vi"),
    Page("https://maktaba-arabiya.example/maqalat/fawaid-alqiraa", "فوائد القراءة اليومية", [
        "القراءة اليومية عادة بسيطة لكنها تترك أثرًا كبيرًا في حياة الإنسان. فهي توسع المعرفة وتثري اللغة وتساعد "
        "على فهم تجارب الآخرين وثقافاتهم.",
        "يرى كثير من المعلمين أن قراءة عشرين دقيقة كل يوم تكفي لتحسين مهارات الفهم والكتابة لدى الطلاب خلال عام "
        "واحد. ويمكن اختيار كتب قصيرة في البداية ثم الانتقال تدريجيًا إلى الروايات والكتب الأطول.",
        "ومن المفيد تخصيص وقت ثابت للقراءة، مثل الصباح الباكر أو قبل النوم، وإبعاد الهاتف خلال هذا الوقت. كما أن "
        "مناقشة الكتب مع الأصدقاء أو في نادٍ للقراءة تجعل العادة أكثر متعة واستمرارًا.",
    ], lang="ar"),
]

# Mojibake and legacy encodings.
ENCODING_PAGES = [
    Page("https://hoc-may.example/bai-giang/tien-huan-luyen-mo-hinh-ngon-ngu",
         "Điều cần biết về tiền huấn luyện mô hình ngôn ngữ", [
        "Tiền huấn luyện là giai đoạn đầu tiên và tốn kém nhất khi xây dựng một mô hình ngôn ngữ lớn. Trong giai "
        "đoạn này, mô hình học cách dự đoán từ tiếp theo trên một lượng văn bản khổng lồ được thu thập từ nhiều nguồn.",
        "Chất lượng dữ liệu quan trọng không kém số lượng. Những trang web bị lỗi mã hóa, trùng lặp hoặc chứa nội "
        "dung rác sẽ làm mô hình học sai, vì vậy các nhóm nghiên cứu thường dành nhiều công sức để lọc và làm sạch "
        "dữ liệu trước khi huấn luyện.",
        "Sau khi tiền huấn luyện, mô hình được tinh chỉnh cho những nhiệm vụ cụ thể như trả lời câu hỏi hoặc tóm "
        "tắt văn bản. Nhờ nền tảng đã học, giai đoạn này cần ít dữ liệu và thời gian hơn nhiều.",
    ], lang="vi", damage="lossy"),
    Page("https://journal-du-jardin.example/conseils/tailler-les-rosiers", "Quand et comment tailler les rosiers", [
        "La taille des rosiers se fait à la fin de l'hiver, quand les bourgeons commencent à gonfler mais avant "
        "que les feuilles ne se développent. Dans la plupart des régions, la période idéale se situe en mars.",
        "On commence par éliminer le bois mort, les branches abîmées et celles qui se croisent au centre du "
        "rosier. Ensuite, on raccourcit les tiges vigoureuses au-dessus d'un œil tourné vers l'extérieur, pour "
        "favoriser une forme aérée.",
        "Après la taille, un apport de compost au pied du rosier l'aidera à repartir. Les rosiers remontants "
        "apprécient aussi qu'on supprime les fleurs fanées tout au long de l'été.",
    ], lang="fr", damage="double"),
    Page("https://wanderverein-eifel.example/touren/rundweg-am-maar", "Rundweg am Maar: eine leichte Familientour", [
        "Der Rundweg um das Maar ist knapp sieben Kilometer lang und eignet sich gut für Familien mit Kindern. "
        "Er führt über breite Waldwege, vorbei an Obstwiesen und einer alten Mühle, in der heute ein Café untergebracht ist.",
        "Vom Aussichtspunkt über dem Südufer überblickt man den gesamten See. Infotafeln erklären, wie die Maare "
        "der Eifel durch Vulkanausbrüche entstanden sind und warum ihr Wasser so klar ist.",
        "Für die Tour sollte man etwa zwei Stunden einplanen. Festes Schuhwerk ist empfehlenswert, da einige "
        "Abschnitte nach Regen rutschig sein können. Hunde sind an der Leine willkommen.",
    ], lang="de", charset="cp1252", declared="utf-8"),
    Page("https://rybalka-na-volge.example/stati/zimnyaya-rybalka", "Зимняя рыбалка: с чего начать", [
        "Зимняя рыбалка привлекает тишиной, чистым воздухом и азартом. Но прежде чем выходить на лёд, нужно "
        "убедиться, что он достаточно крепкий: безопасной считается толщина не меньше десяти сантиметров.",
        "Новичку понадобятся ледобур, короткая зимняя удочка, набор мормышек и тёплая одежда, которая не "
        "стесняет движений. Удобный ящик служит одновременно сиденьем и местом для снастей.",
        "Рыбу ищут у бровок, на границе глубины и мели, а также возле затопленных коряг. Если поклёвок нет "
        "полчаса, лучше просверлить новую лунку в нескольких метрах от прежней.",
    ], lang="ru", charset="windows-1251", declared="windows-1251"),
    Page("https://jiachang-cai.example/caipu/xihongshi-chaodan", "番茄炒蛋的家常做法", [
        "番茄炒蛋是很多家庭餐桌上最常见的菜之一，做法简单，味道酸甜，特别适合配米饭。",
        "先把两个番茄切成小块，三个鸡蛋打散，加少许盐。锅中放油，油热后倒入蛋液，炒到刚刚凝固就盛出备用。",
        "锅里再加一点油，放入番茄翻炒出汁，加入少量糖和盐调味，最后倒回鸡蛋，翻炒均匀即可出锅。"
        "喜欢汤汁多一些的，可以在炒番茄时加两勺清水。",
    ], lang="zh", charset="gbk", declared="gbk"),
]

SPAM = [
    Page("https://best-cheap-watches.example/cheap-watches-best-price", "Cheap watches best price cheap watches", [
        "cheap watches cheap watches best cheap watches buy cheap watches online cheap watches sale discount "
        "watches cheap luxury watches cheap watches cheap watches free shipping cheap watches best price watches "
        "cheap watches for men cheap watches for women cheap watches cheap watches deal cheap watches",
        "Buy cheap watches now! Best cheap watches! Cheap watches cheap watches cheap watches. Click here for "
        "cheap watches. Cheap watches outlet, cheap watches store, cheap watches shop, cheap watches online.",
        "cheap watches replica watches cheap watches best watches cheap price watches cheap watches cheap cheap "
        "cheap watches watches watches discount discount discount best best best price price price",
    ], boilerplate=False),
    Page("https://win-a-prize-today.example/claim", "Congratulations!!! You are a winner", [
        "CLICK HERE TO CLAIM YOUR PRIZE NOW!!!",
    ] * 30, boilerplate=False),
    Page("https://placeholder-theme.example/sample-page", "Sample page", [
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
        "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex "
        "ea commodo consequat.",
        "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
        "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed ut perspiciatis unde omnis iste natus error "
        "sit voluptatem accusantium doloremque laudantium, totam rem aperiam.",
    ]),
    Page("https://new-shop-opening.example/", "Coming soon", ["Coming soon."], boilerplate=False),
    Page("https://old-blog.example/2019/05/moved", "Moved", ["This page has moved."], boilerplate=False),
]

RUDE = [
    Page("https://gamer-forum.example/threads/patch-notes-discussion", "Re: patch 2.3 is out", [
        "This patch is total bullshit. Who the hell thought nerfing the shield was a good idea? The devs are "
        "idiots, plain and simple.",
        "Shut up, you clueless moron. The shield was broken and everyone who played ranked knows it. Learn to "
        "play instead of whining like a damn baby.",
        "Both of you are full of shit. The real problem is the crappy matchmaking, which keeps throwing me in "
        "with the same brain-dead teammates every single night.",
        "Whatever. This game is shitty now and this forum is a dump. I'm out.",
    ]),
    Page("https://neighbourhood-board.example/posts/parking-on-elm-street", "Parking on Elm Street (again)", [
        "To whoever keeps parking that ugly van across my driveway: you are a selfish jerk and a complete idiot. "
        "Move your crap or I will have it towed.",
        "Seriously, what the hell is wrong with people on this street? This is the third time this week. "
        "Stupid, stupid, stupid. Some people are just assholes.",
        "Reply: calm down, it's a van, not the end of the world. But yes, the owner is a jackass.",
    ]),
]

CONTACT_PAGES = [
    Page("https://millbrook-chess.example/contact", "Contact the Millbrook Chess Club", [
        "The Millbrook Chess Club meets every Tuesday from seven until ten in the evening in the upstairs room of "
        "the community centre on Mill Lane. Players of every strength are welcome, and we always have spare sets "
        "and clocks for newcomers.",
        "For general questions, write to the secretary at secretary@millbrook-chess.example or call 01632 960 481 "
        "on weekday evenings. Junior players and their parents can contact our junior organiser, Priya Raman, at "
        "juniors@millbrook-chess.example or on +44 7700 900123.",
        "Our league captain, Tom Ellery, arranges matches against neighbouring clubs. If you would like to play "
        "in a team, email tom.ellery@millbrook-chess.example with your rating, or leave a message on (555) 014-2290.",
        "Membership costs forty pounds a year for adults and twenty for students and juniors. The first three "
        "evenings are free, so come along and try a few games before you decide.",
    ]),
    Page("https://homelab-notes.example/posts/setting-up-a-home-firewall", "Setting up a firewall for a home lab", [
        "My home lab grew from one old laptop to three small servers, and at some point it became clear that the "
        "router supplied by the internet provider was not enough. This post describes the firewall I built from "
        "a second-hand mini PC with two network ports.",
        "The WAN port receives the public address from the provider, which at the moment is 203.0.113.47. The LAN "
        "side uses the 192.168.20.0/24 network, with the firewall itself at 192.168.20.1 and the file server at "
        "192.168.20.10. A separate network for the smart plugs and cameras lives on 10.44.0.0/16 and cannot reach "
        "the rest of the house.",
        "The rules are deliberately simple. Everything from outside is dropped except the VPN port, traffic "
        "between the two inside networks is blocked by default, and the DNS resolver at 192.168.20.1 forwards "
        "queries over an encrypted connection. IPv6 is enabled as well, and the lab prefix 2001:db8:4a2::/48 gets "
        "the same rules.",
        "If you have questions or spot a mistake, send me a note at admin@homelab-notes.example. I read every "
        "message, although it may take a few days to reply.",
    ]),
]

EXTRA_RECORDS = [
    Page("https://small-charity-hub.example/files/annual-report-summary.pdf", "", [], content_type="application/pdf",
         body=(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
               b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")),
    Page("https://lakeside-news.example/community/old-article-removed", "Not found",
         ["Sorry, the page you are looking for does not exist."], status=404, boilerplate=False),
    Page("https://www.free-porn-videos.example/hd/index.html", "Welcome", [
        "Welcome to our video site. Browse thousands of clips in our categories, updated every day. New members "
        "get a free trial week. You must be eighteen or older to enter.",
    ], boilerplate=False),
]


def composting_pages() -> list[Page]:
    """One article at five URLs with the small edits syndicated copies get: near duplicates."""
    sites = [
        ("https://riverside-gardens.example/guides/composting-in-a-community-garden", "Composting in a community garden"),
        ("https://green-thumbs-blog.example/2024/02/community-garden-composting", "Composting in a community garden"),
        ("https://allotment-weekly.example/features/how-our-garden-makes-compost", "How our community garden makes compost"),
        ("https://riverside-gardens.example/print/composting-in-a-community-garden", "Composting in a community garden (print version)"),
        ("https://urban-growers.example/reprints/composting-guide", "A community garden composting guide"),
    ]
    edits = [
        lambda ps: ps,
        lambda ps: ps[:4] + [ps[4].replace("early spring", "March")],
        lambda ps: [ps[0].replace("six seasons", "seven seasons")] + ps[1:],
        lambda ps: ps + ["Printed from the Riverside Gardens website."],
        lambda ps: [ps[0]] + [ps[1].replace("two buckets", "about two buckets")] + ps[2:],
    ]
    return [Page(url, title, edit(list(COMPOST))) for (url, title), edit in zip(sites, edits)]


def all_pages() -> list[tuple[Page, str]]:
    """Every page with the site name shown in its boilerplate."""
    pages: list[tuple[Page, str]] = []
    for page in composting_pages():
        pages.append((page, "Community Gardens"))
    for url, title, site, paragraphs in ENGLISH:
        pages.append((Page(url, title, paragraphs), site))
    for page in OTHER_LANGUAGES + ENCODING_PAGES + SPAM + RUDE + CONTACT_PAGES + EXTRA_RECORDS:
        pages.append((page, page.url.split("/")[2].removeprefix("www.").split(".")[0].replace("-", " ").title()))
    for original, mirror in MIRRORS.items():
        page, site = next((p, s) for p, s in pages if p.url == original)
        pages.append((Page(mirror, page.title, page.paragraphs), site))
    return pages


# --- WARC records ----------------------------------------------------------------------------------


def payload_of(page: Page, site: str) -> bytes:
    if page.body is not None:
        return page.body
    if page.damage == "lossy":
        page = Page(**{**page.__dict__, "title": lossy_mojibake(page.title),
                       "paragraphs": [lossy_mojibake(p) for p in page.paragraphs]})
    elif page.damage == "double":
        page = Page(**{**page.__dict__, "title": double_encoded(page.title),
                       "paragraphs": [double_encoded(p) for p in page.paragraphs]})
    return render(page, site).encode(page.charset, errors="xmlcharrefreplace")  # as legacy pages write ©


def http_response(page: Page, payload: bytes, when: datetime) -> bytes:
    reason = {200: "OK", 404: "Not Found"}[page.status]
    content_type = page.content_type
    if page.declared and content_type == "text/html":
        content_type += f"; charset={page.declared}"
    lines = [
        f"HTTP/1.1 {page.status} {reason}",
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S GMT')}",
        "Server: nginx",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(payload)}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload


def http_request(url: str) -> bytes:
    host, _, path = url.split("://", 1)[1].partition("/")
    lines = [
        f"GET /{path} HTTP/1.1",
        f"Host: {host}",
        "User-Agent: curate-sample-crawler/1.0 (+https://curate.example/bot)",
        "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
        "Accept-Language: en;q=0.8, *;q=0.5",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def warc_record(kind: str, block: bytes, when: datetime, url: str | None, extra: dict[str, str]) -> bytes:
    record_id = uuid.uuid5(NAMESPACE, f"{kind}:{url}:{when.isoformat()}")
    headers = {
        "WARC-Type": kind,
        "WARC-Record-ID": f"<urn:uuid:{record_id}>",
        "WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **({"WARC-Target-URI": url} if url else {}),
        **extra,
        "WARC-Block-Digest": sha1_b32(block),
        "Content-Length": str(len(block)),
    }
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return gzip.compress(head.encode("utf-8") + block + b"\r\n\r\n", mtime=0)


def build() -> bytes:
    info = (
        "software: curate sample_data/build_sample.py\r\n"
        "format: WARC File Format 1.1\r\n"
        "description: a small web dump written for the curate demo; every page is original text\r\n"
        "isPartOf: curate-sample\r\n"
    ).encode("utf-8")
    warcinfo = {"WARC-Filename": OUT.name, "Content-Type": "application/warc-fields"}
    members = [warc_record("warcinfo", info, START, None, warcinfo)]
    for index, (page, site) in enumerate(all_pages()):
        when = START + timedelta(minutes=7 * index)
        payload = payload_of(page, site)
        response = http_response(page, payload, when)
        response_id = f"<urn:uuid:{uuid.uuid5(NAMESPACE, f'response:{page.url}:{when.isoformat()}')}>"
        members.append(warc_record("request", http_request(page.url), when, page.url, {
            "Content-Type": "application/http;msgtype=request", "WARC-Concurrent-To": response_id}))
        members.append(warc_record("response", response, when, page.url, {
            "Content-Type": "application/http;msgtype=response", "WARC-Payload-Digest": sha1_b32(payload),
            "WARC-IP-Address": f"198.51.100.{10 + index}"}))
    return b"".join(members)


if __name__ == "__main__":
    data = build()
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data):,} bytes, {len(all_pages())} pages)")
