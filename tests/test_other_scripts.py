"""Pages in scripts other than Latin: Cyrillic (Russian, Ukrainian), Arabic (and Persian),
Devanagari (Hindi), Japanese, Chinese, Korean and Thai; and Turkish, Vietnamese and
Indonesian, whose chrome the Latin-script pack did not name.

What a word and a sentence end are (curate/writing.py), as the detectors and the line
model's features read them; and the built-in rules' chrome in these languages, each rule
removing a second line per language beside its own examples, while no line rule fires on
the prose of news pages that holds one of their keywords. The lines are written for these
tests. tests/fixtures/probes/ has a whole news page in each of these languages."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chrome_missed, prose_fired

from curate.detectors import is_link_like, is_prose, reads_as_sentence, tokens
from curate.linemodel.features import FEATURES, pages_features
from curate.rules import load_rules
from curate.stages.noise import text_lines

pytestmark = pytest.mark.unit

LANGS = ("ru", "ar", "hi", "ja", "zh", "th", "tr", "vi", "id", "ko", "uk", "fa", "he", "el")

# rule -> one chrome line per language that this very rule must remove.
CHROME: dict[str, dict[str, str]] = {
    "ad-label": {"ru": "На правах рекламы", "ar": "محتوى ممول", "hi": "प्रायोजित", "ja": "スポンサー広告",
                 "zh": "推广", "th": "- โฆษณา -"},
    "share-bar": {"ru": "Поделиться в соцсетях", "ar": "شارك الخبر: فيسبوك تويتر واتساب", "hi": "साझा करें: फेसबुक ट्विटर",
                  "ja": "シェア", "zh": "分享：微博 豆瓣", "th": "แชร์ เฟซบุ๊ก ไลน์"},
    "related-heading": {"ru": "Материалы по теме", "ar": "الأكثر قراءة", "hi": "ताजा खबरें", "ja": "こちらもおすすめ",
                        "zh": "推荐阅读", "th": "ข่าวล่าสุด"},
    "newsletter-prompt": {"ru": "Подписаться на рассылку", "ar": "اشترك الآن", "hi": "सदस्यता लें",
                          "ja": "メルマガ登録", "zh": "订阅", "th": "สมัครรับข่าวสาร"},
    "footer-link": {"ru": "Пользовательское соглашение", "ar": "شروط الاستخدام", "hi": "नियम और शर्तें",
                    "ja": "利用規約", "zh": "联系我们", "th": "นโยบายความเป็นส่วนตัว"},
    "copyright-line": {"ru": "Все права защищены.", "ar": "© 2024 الموقع. جميع الحقوق محفوظة.",
                       "hi": "© 2024 समाचार सर्वाधिकार सुरक्षित", "ja": "無断転載禁止", "zh": "版權所有",
                       "th": "© 2567 ข่าวเมือง สงวนลิขสิทธิ์"},
    "cookie-banner": {"ru": "Сайт использует файлы cookie для удобства пользователей.",
                      "ar": "يستخدم هذا الموقع ملفات تعريف الارتباط.", "hi": "यह वेबसाइट कुकीज़ का इस्तेमाल करती है।",
                      "ja": "本サイトはCookieを利用しています。", "zh": "我们使用cookies来提升您的体验。",
                      "th": "เราใช้คุกกี้เพื่อให้คุณได้รับประสบการณ์ที่ดี"},
    "consent-button": {"ru": "Принять все", "ar": "قبول الكل", "hi": "स्वीकार", "ja": "すべて同意", "zh": "全部接受",
                       "th": "ยอมรับทั้งหมด"},
    "byline-label": {"ru": "Корреспондент: Олег Иванов", "ar": "تحرير: منى حسن", "hi": "लेखक: अमित शर्मा",
                     "ja": "作者：佐藤一郎", "zh": "编辑：王芳", "th": "ผู้เขียน: วิภา ศรีสุข"},
}

# Sentences and headlines of news pages, each holding a word some rule above looks for.
PROSE: dict[str, list[str]] = {
    "ru": ["Реклама на остановках появится только летом, сообщили в мэрии.",
           "Поделиться опытом пришли учителя из соседних школ.",
           "Подписаться на газету в деревне можно только на почте.",
           "О нас говорят в соседних городах",
           "Все права на здание перешли к городу в 2020 году."],
    "ar": ["أعلنت البلدية عن إعلان جديد لتوظيف المعلمين.",
           "شارك أكثر من ألف شخص في الماراثون يوم الجمعة.",
           "من نحن لنحكم على قرارات الآخرين؟ قال الكاتب في مقاله.",
           "اشترك الطلاب في مسابقة العلوم للمرة الأولى."],
    "hi": ["विज्ञापन पर खर्च इस साल बीस प्रतिशत बढ़ा।",
           "यह भी पढ़ें कि अदालत ने क्या फैसला सुनाया था।",
           "गोपनीयता नीति पर संसद में लंबी बहस हुई।"],
    "ja": ["広告費は前年より一割増えた。",
           "関連記事の扱いについて、編集部は新しい方針を示した。",
           "利用規約の改定は来月から適用される。",
           "シェアサイクルの利用者は三年で倍になった！"],
    "zh": ["广告收入今年增长了一成。",
           "相关新闻报道引起了广泛关注。",
           "记者在现场看到，道路已经恢复通行。",
           "版权保护的问题越来越受到重视？"],
    "th": ["โฆษณาทางโทรทัศน์ลดลงมากในปีนี้",
           "โดยทั่วไปแล้วฝนจะตกหนักในเดือนพฤษภาคม และน้ำในแม่น้ำจะสูงขึ้น",
           "ผู้เขียนหนังสือเล่มนี้อาศัยอยู่ที่เชียงใหม่มานานกว่าสิบปี"],
}


# And six more languages of the web, three of them in Latin script...
SIX_MORE: dict[str, dict[str, str]] = {
    "ad-label": {"tr": "Sponsorlu İçerik", "vi": "Nội dung được tài trợ", "id": "Konten Bersponsor", "ko": "스폰서",
                 "uk": "На правах реклами", "fa": "آگهی"},
    "share-bar": {"tr": "Paylaş: Facebook Twitter WhatsApp", "vi": "Chia sẻ", "id": "Bagikan artikel ini",
                  "ko": "카카오스토리", "uk": "Поділитися: Facebook Telegram", "fa": "اشتراک گذاری"},
    "related-heading": {"tr": "En Çok Okunanlar", "vi": "Có thể bạn quan tâm", "id": "Berita Terkait",
                        "ko": "많이 본 뉴스", "uk": "Схожі новини", "fa": "مطالب مرتبط"},
    "newsletter-prompt": {"tr": "Abone ol", "vi": "Đăng ký nhận tin", "id": "Berlangganan newsletter", "ko": "구독하기",
                          "uk": "Підписатися", "fa": "اشتراک خبرنامه"},
    "footer-link": {"tr": "Künye", "vi": "Điều khoản sử dụng", "id": "Pedoman Media Siber", "ko": "이용약관",
                    "uk": "Політика конфіденційності", "fa": "درباره ما"},
    "copyright-line": {"tr": "© 2024 Gazete. Tüm hakları saklıdır.", "vi": "© Bản quyền thuộc về Báo Thành Phố",
                       "id": "Hak Cipta Dilindungi", "ko": "ⓒ 시티뉴스, 무단 전재 및 재배포 금지",
                       "uk": "Всі права захищені", "fa": "تمامی حقوق برای این سایت محفوظ است."},
    "cookie-banner": {"tr": "Sitemizde çerezler kullanılmaktadır.", "vi": "Chúng tôi sử dụng cookie.",
                      "id": "Kami menggunakan cookie.", "ko": "당사는 쿠키를 이용합니다.",
                      "uk": "Сайт використовує файли cookie.", "fa": "ما از کوکی‌ها استفاده می‌کنیم."},
    "consent-button": {"tr": "Kabul Ediyorum", "vi": "Chấp nhận", "id": "Terima Semua", "ko": "모두 동의",
                       "uk": "Прийняти", "fa": "موافقم"},
    "byline-label": {"tr": "Muhabir: Mehmet Demir", "vi": "Tác giả: Trần Thị Mai", "id": "Pewarta: Andi Wijaya",
                     "ko": "이수진 기자", "uk": "Кореспондент: Олена Коваль", "fa": "نویسنده: مریم احمدی"},
}
# ...and Hebrew and Greek.
HEBREW_GREEK: dict[str, dict[str, str]] = {
    "ad-label": {"he": "תוכן ממומן", "el": "Χορηγούμενο περιεχόμενο"},
    "share-bar": {"he": "שיתוף", "el": "Μοιραστείτε: Facebook Twitter"},
    "related-heading": {"he": "כתבות קשורות", "el": "Σχετικά άρθρα"},
    "newsletter-prompt": {"he": "הצטרפו לניוזלטר", "el": "Εγγραφή στο newsletter"},
    "footer-link": {"he": "מדיניות פרטיות", "el": "Πολιτική απορρήτου"},
    "copyright-line": {"he": "כל הזכויות שמורות לעיתון", "el": "Όλα τα δικαιώματα διατηρούνται."},
    "cookie-banner": {"he": "אנו משתמשים בעוגיות כדי לשפר את חוויית הגלישה.",
                      "el": "Χρησιμοποιούμε cookies για να βελτιώσουμε την εμπειρία σας."},
    "consent-button": {"he": "קבל הכל", "el": "Αποδοχή όλων"},
    "byline-label": {"he": "כתב: יוסי לוי", "el": "Συγγραφέας: Μαρία Γεωργίου"},
}
for table in (SIX_MORE, HEBREW_GREEK):
    for rule_name, lines in table.items():
        CHROME[rule_name].update(lines)
PROSE.update({
    "tr": ["Reklam harcamaları bu yıl yüzde yirmi arttı.", "İletişim fakültesinde okuyan öğrenciler ödül aldı.",
           "Abone sayısı geçen yıl yüzde on arttı."],
    "vi": ["Quảng cáo trên mạng xã hội tăng mạnh trong năm nay.",
           "Chia sẻ với phóng viên, bà Lan cho biết gia đình rất vui."],
    "id": ["Iklan rokok dilarang tayang di televisi sejak tahun lalu.",
           "Baca juga laporan komisi sebelum memberi penilaian.", "Penulis buku itu tinggal di Bandung sejak lama."],
    "ko": ["광고 수입이 작년보다 10% 줄었다.", "관련 기사를 쓴 기자는 상을 받았다.",
           "기자 회견은 오후 3시에 시작됐다."],
    "uk": ["Реклама на зупинках з'явиться тільки влітку, повідомили в мерії.", "Про нас говорять у сусідніх містах."],
    "fa": ["تبلیغات تلویزیونی امسال کاهش یافت.", "درباره ما چیزهای زیادی در روزنامه‌ها نوشته‌اند."],
    "he": ["הפרסומת החדשה של החברה עוררה ויכוח ברשתות.", "צור קשר עם ההורים היה הצעד הראשון של המורה."],
    "el": ["Η διαφήμιση στην τηλεόραση μειώθηκε φέτος.", "Η επικοινωνία με τους γονείς είναι το πρώτο βήμα."],
})


@pytest.fixture(scope="module")
def pack():
    return load_rules([], builtin=True)


@pytest.mark.parametrize("rule_name", sorted(CHROME))
def test_each_rule_removes_its_chrome_in_every_language(pack, rule_name):
    assert set(CHROME[rule_name]) == set(LANGS)
    assert chrome_missed(pack, rule_name, CHROME[rule_name]) == {}


@pytest.mark.parametrize("lang", LANGS)
def test_no_line_rule_fires_inside_prose_that_holds_a_keyword(pack, lang):
    assert prose_fired(pack, PROSE[lang]) == {}


@pytest.mark.parametrize(("text", "words"), [
    ("स्थानीय निवासी रमेश कुमार ने कहा", 6),  # vowel signs are part of the word: not 11 pieces
    ("Жители давно просили о ночном транспорте", 6),
    ("ما زالت المكتبة مفتوحة", 4),
    ("کتابخانه از ماه آینده بیشتر باز می\u200cشود", 7),  # the non-joiner is inside a Persian word
    ("Hello, world", 2),
])
def test_a_word_keeps_its_vowel_signs(text, words):
    assert tokens(text) == words


def test_thai_words_are_counted_from_their_characters():
    # 13 words written without spaces: a headline, not one "word" and not a menu item
    headline = "เทศบาลเริ่มโครงการปลูกต้นไม้หนึ่งหมื่นต้นริมแม่น้ำ"
    assert 8 <= tokens(headline) <= 13
    assert not is_link_like(headline, 2)
    assert is_link_like("หน้าแรก", 2)  # "home", a menu item


@pytest.mark.parametrize("text", [
    "वे बचपन में इसी झील में तैरना सीखे थे।",  # the danda
    "هل ستفتح المكتبة أبوابها في المساء؟",  # the Arabic question mark
    "市は来月一日から運行すると発表しました。",
    "運賃はどうなるのでしょうか？",  # a full-width question mark
    "図書館は夜十時まで開いています！",
])
def test_sentences_end_in_the_marks_of_their_script(text):
    assert reads_as_sentence(text)
    assert is_prose(text, 6, 30)


@pytest.mark.parametrize("text", [
    "Жители давно просили о транспорте. Как добираться домой после смены",  # a Cyrillic capital opens
    "هل ستفتح المكتبة أبوابها؟ أكد المدير أنها ستعمل حتى العاشرة",  # no capitals in Arabic
    "เทศบาลเมืองเริ่มโครงการปลูกต้นไม้ริมแม่น้ำเมื่อวันเสาร์ โดยมีอาสาสมัครเข้าร่วมกว่าห้าร้อยคน",  # a space parts Thai clauses
])
def test_a_sentence_break_inside_a_line_in_other_scripts(text):
    assert is_prose(text, 6, 30)
    features = pages_features([(text_lines(text), {})])
    assert features[0, FEATURES.index("sentence_breaks")] > 0


def test_the_line_models_features_read_the_same_sentence_ends():
    lines = text_lines("वे बचपन में इसी झील में तैरना सीखे थे।\n\n運賃はどうなるのでしょうか？\n\nОни ушли домой")
    features = pages_features([(lines, {})])
    assert np.array_equal(features[:, FEATURES.index("terminal")] > 0, [True, True, False])


def test_thai_prose_without_a_full_stop():
    """Thai writes no full stop: a paragraph's line is prose by its length, or by the space
    that parts its clauses; a headline or a menu item is neither."""
    paragraph = "ชาวบ้านที่อาศัยอยู่ริมแม่น้ำหลายคนนำต้นกล้ามาร่วมปลูกด้วยตัวเอง"
    assert is_prose(paragraph, 6, 30) and reads_as_sentence(paragraph)
    assert not is_prose("ข่าวที่เกี่ยวข้อง", 6, 30) and not reads_as_sentence("ข่าวที่เกี่ยวข้อง")
    assert not reads_as_sentence("เทศบาลเริ่มโครงการปลูกต้นไม้")


def test_korean_words_are_spaced_words():
    """Hangul is written with spaces between words: its syllables are not counted as CJK."""
    assert tokens("시내버스 심야 노선 다음 달부터 운행") == 6


def test_the_feature_tables_ranges_are_the_character_classes_of_writing():
    """features._range_mask reads a character class's ranges without the regex engine (the
    class table is built once a process); it must agree with the regex on every code point."""
    import re

    from curate import writing
    from curate.linemodel.features import _UNSPACED_RANGES, _range_mask

    for ranges in (writing.MARK_RANGES, _UNSPACED_RANGES, writing.NO_STOP_RANGES):
        pattern = re.compile(f"[{ranges}]")
        expected = np.array([pattern.match(chr(code)) is not None for code in range(0x10000)])
        assert np.array_equal(_range_mask(ranges), expected)


def test_chinese_site_registration_numbers_go_and_news_of_the_filings_stays(pack):
    """The ICP and public-security filing numbers every site served from mainland China
    shows in its footer (lines beside the rule's own examples), and prose about the filings."""
    assert chrome_missed(pack, "site-registration", {
        "a": "粤ICP备12345678号", "b": "Copyright © 2024 示例网 版权所有 浙ICP备2021000001号-2",
        "c": "京公网安备 11010802030000号", "d": "网站标识码：3100000012",
        "e": "互联网新闻信息服务许可证：31120180004"}) == {}
    assert prose_fired(pack, ["网站必须在上线前完成ICP备案，否则将被关闭。",
                              "据介绍，今年新增公网安备案网站三万余家。"]) == {}
