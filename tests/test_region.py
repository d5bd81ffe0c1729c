"""The article region keeps the structure of pages that are not news articles: a headline
below a site name, list and specification runs next to the prose, and it still cuts
what surrounds them."""

from __future__ import annotations

import pytest

from curate.detectors import (
    CONTENTS_MAX,
    ArticleRegion,
    _contents,
    _headline,
    _is_item,
    _stanza_blocks,
    _wrapped_prose,
    tokens,
)
from curate.document import Line, Origin
from curate.stages.markdown import rendered_marks
from curate.stages.normalise import normalise_text

pytestmark = pytest.mark.unit


def _lines(text: str) -> list[Line]:
    out, gap = [], False
    for raw in text.split("\n"):
        if not raw.strip():
            gap = True
            continue
        # As the normalise stage makes them: tabs and runs of spaces read as one space, and
        # Markdown's marks rendered.
        out.append(Line(len(out), raw, rendered_marks(normalise_text(raw)), Origin(len(out) + 1, 0, len(raw)), gap))
        gap = False
    return out


def _kept(text: str, taken: set[str] = frozenset(), **params) -> list[str]:  # type: ignore[assignment]
    lines = _lines(text)
    hit_by_others = frozenset(line.index for line in lines if line.text in taken)
    found = ArticleRegion(**params).hits(lines, hit_by_others)
    return [line.text for line in lines if line.index not in found and line.index not in hit_by_others]


RECIPE = """Crumb Corner
Recipes
Baking

Lemon drizzle loaf with poppy seeds

Published 3 May 2024 by Ana
Jump to recipe

This loaf keeps for days, and the drizzle soaks right through it while it is still warm.

I bake it for every birthday at work, because it is quick and nobody ever leaves a slice.

Ingredients
225 g butter
225 g caster sugar
4 eggs
1 lemon, zested

Method
1. Heat the oven to 180C and line the tin.
2. Beat the butter and sugar until pale.
3. Add the eggs one by one and fold in the flour.

You might also like
Carrot cake
Banana bread
"""


def test_a_headline_below_the_site_name_and_the_lists_after_the_intro_stay():
    kept = _kept(RECIPE, taken={"Recipes", "Baking", "Published 3 May 2024 by Ana", "You might also like"})
    assert "Lemon drizzle loaf with poppy seeds" in kept
    assert "Jump to recipe" not in kept  # between the headline and the intro, and no lead
    assert "Lemon drizzle loaf with poppy seeds" not in _kept(RECIPE, taken={"Recipes", "Baking"}, headline_reach=0)
    assert {"225 g butter", "4 eggs", "1 lemon, zested", "2. Beat the butter and sugar until pale."} <= set(kept)
    assert "Carrot cake" not in kept and "Banana bread" not in kept


def test_a_specification_table_under_its_heading_joins_the_description():
    page = """Shop

Grinder Mirto 40

The Mirto 40 grinds coffee with conical burrs, and it does so slowly enough to keep the beans cool.

It is meant for people who make one or two cups at a time, from espresso to filter.

Specifications
Burrs: conical steel, 40 mm
Power: 150 W
Weight: 1.6 kg

Customers also bought
Beans, 1 kg
"""
    kept = _kept(page, taken={"Customers also bought"})
    assert {"Specifications", "Burrs: conical steel, 40 mm", "Power: 150 W", "Weight: 1.6 kg"} <= set(kept)
    assert "Beans, 1 kg" not in kept
    # Before the region knew structure, the table went with the cross-sells.
    kept = _kept(page, taken={"Customers also bought"}, structure=False)
    assert "Power: 150 W" not in kept and "Beans, 1 kg" not in kept


SHORT_INTRO_RECIPE = """Grandma's apple pie

This apple pie has been in our family for three generations, and it never fails at holiday dinners.

Ingredients
2 cups all-purpose flour
1 teaspoon salt
3/4 cup cold butter, cubed
6 tablespoons ice water
6 medium apples, peeled and sliced
1/2 cup sugar

Instructions
1. Preheat the oven to 425F and mix the flour and salt in a large bowl.
2. Cut in the butter until the mixture resembles coarse crumbs, then add the water.
3. Roll out half of the dough and place it in a nine-inch pie plate.
4. Toss the apples with the sugar, fill the crust and cover it with the rest of the dough.
5. Bake for 45 minutes, until the crust is golden and the filling bubbles.
"""


def test_a_short_intro_and_the_list_under_its_own_heading_stay_above_the_steps():
    # The seven short lines of the list cost what the one-sentence intro earns, so the best
    # stretch starts at the steps; the list joins them across the "Instructions" heading,
    # and as it reaches up to the title, the intro between them stays too.
    kept = _kept(SHORT_INTRO_RECIPE)
    lines = [line for line in SHORT_INTRO_RECIPE.splitlines() if line.strip()]
    assert kept == lines
    # The runs it took in by their structure are vouched for: the line model judges those
    # short lines as it judges prose, not as the menu lines they look like.
    lines = _lines(SHORT_INTRO_RECIPE)
    _, vouched = ArticleRegion().hits_and_vouched(lines)
    texts = [line.text for line in lines]
    ingredients = {line.index for line in lines[texts.index("Ingredients") + 1:texts.index("Instructions")]}
    assert len(ingredients) == 6 and ingredients <= vouched
    # Without the region's knowledge of structure, intro and ingredients went.
    bare = _kept(SHORT_INTRO_RECIPE, structure=False)
    assert "2 cups all-purpose flour" not in bare and not any(line.startswith("This apple pie") for line in bare)


def test_a_menu_run_above_a_heading_does_not_join_the_article():
    # The same shape with nothing above the run but other rules' removals, further from the
    # title than an article starts that the title heads: a menu of "Label: value" lines in
    # a site's chrome, not the article's ingredients.
    page = """Docs home

News
Code
Issues
Community
Foundation
Donate
Toggle theme (current theme: auto)
Toggle theme (current theme: light)
Toggle theme (current theme: dark)
Toggle the colour theme

Getting started with the framework takes about ten minutes, and this page walks through every step of it.

Install it with pip, then create a project with the command shown below, which writes a settings file.
"""
    kept = _kept(page, taken={"News", "Code", "Issues", "Community", "Foundation", "Donate"})
    assert not any(line.startswith("Toggle theme (") for line in kept)
    assert any(line.startswith("Getting started") for line in kept)


@pytest.mark.parametrize("line", ["Docs / Guide / Retention policies", "Prep time: 25 min", "Published 3 May 2024",
                                  "Home | Recipes | Cakes"])
def test_a_breadcrumb_a_field_or_a_date_is_never_the_headline(line):
    lines = _lines(f"{line}\n\nA first paragraph of the article, long enough to be prose for the detector.")
    assert _headline(lines, 1, frozenset(), 14) is None


# A tab inside a sentence: a piece of more than 12 words is no table's cell.
LONG_PIECE = "The council met on Monday evening and agreed at last on the budget of the new school\tfor next year."


@pytest.mark.parametrize(("text", "item"), [("200 g flour", True), ("1. Heat the oven", True), ("- salt", True),
                                           ("Weight: 1.2 kg", True), ("Centro | 921 | 960 | -4%", True),
                                           ("Centro\t921\t960\t-4%", True), ("São Paulo\t \tBrazil", True),
                                           (LONG_PIECE, False),
                                           ("modules |", False), ("Home", False), ("\tindented line", False),
                                           ("The council met on Monday.", False)])
def test_list_items(text, item):
    [line] = _lines(text)
    assert _is_item(line) is item


def test_an_in_page_contents_list_does_not_cut_off_the_intro_above_it():
    page = """Docs

Retention policies

A retention policy decides which snapshots the tool deletes after each run, and keeps the rest.

On this page
How pruning works
Configuring a policy
Testing a policy

How pruning works
After a snapshot is written, the tool lists the older ones and sorts them by age.

Configuring a policy
Add a table to the job's file, with one key for each rule you want to apply.

Testing a policy
Run a dry run first, which prints what would be deleted without deleting it.
"""
    contents = {"On this page", "How pruning works", "Configuring a policy", "Testing a policy"}
    kept = _kept(page, taken=contents)
    assert "A retention policy decides which snapshots the tool deletes after each run, and keeps the rest." in kept
    assert "Run a dry run first, which prints what would be deleted without deleting it." in kept
    # The same list as a menu shown at the top and the bottom heads no paragraphs: no contents.
    paragraph = "A first paragraph of a post, long enough to be prose for it."
    menu = f"Home\nBlog\nShop\n\n{paragraph}\n\nHome\nBlog\nShop"
    assert _kept(menu, taken={"Home", "Blog", "Shop"}) == [paragraph]


def test_a_contents_list_longer_than_one_run_is_found_whole_and_a_long_menu_is_not():
    """A run is cut at CONTENTS_MAX entries (a failed run is looked at again from each of
    its lines, which must stay linear): a longer list is found as several runs."""
    n = CONTENTS_MAX * 2 + 7
    sections = "\n\n".join(f"Step {k}\nDo the thing number {k} with care, then check it twice." for k in range(n))
    page = _lines("Contents\n" + "\n".join(f"Step {k}" for k in range(n)) + "\n\n" + sections)
    counts = [float(len(line.text.split())) for line in page]
    found = _contents(page, counts, 6, 30)
    assert {page[k].text for k in found} >= {"Contents"} | {f"Step {k}" for k in range(n)}
    # A menu of as many items shown twice heads no paragraphs: nothing, however long.
    menu = "\n".join(f"Item {k}" for k in range(n))
    page = _lines(f"{menu}\n\nOne paragraph between the two copies of the menu, long enough.\n\n{menu}")
    assert _contents(page, [float(len(line.text.split())) for line in page], 6, 30) == set()


def test_customer_reviews_after_a_product_description_join_it():
    page = """Shop

Grinder Mirto 40

The Mirto 40 grinds coffee with conical burrs, and it does so slowly enough to keep the beans cool.

It is meant for people who make one or two cups at a time, from espresso to filter, and it has forty settings.

Customer reviews
Write a review

Great value for money
Laura G. - 3 September 2024
I use it every morning for the moka pot, and the grind comes out very even.

Good for filter
Andrew P. - 21 July 2024
For pour-over it is perfect, for espresso the finest settings are a little coarse.

See all 127 reviews

Customers also bought
Beans, 1 kg
"""
    kept = _kept(page, taken={"Write a review", "See all 127 reviews", "Customers also bought"})
    assert "I use it every morning for the moka pot, and the grind comes out very even." in kept
    assert "For pour-over it is perfect, for espresso the finest settings are a little coarse." in kept
    assert "Customer reviews" in kept and "Beans, 1 kg" not in kept


THREAD = """Forum

Board stuck after the update

anna_k
Joined Jan 12, 2024
Feb 3, 2024
#1
After the update last night the board no longer boots, and the screen stays blank every time.
Reply

mlanders
Feb 3, 2024
#2
That usually means the firmware file on the card is missing or was only half written.
Pi 4 / Pi 5 / far too many cards
Reply

anna_k
Feb 4, 2024
#3
Thanks, that fixed it!
The board booted on the first try after I copied the files again.
Reply

Similar threads
Board will not boot after editing the config
"""


def test_the_posts_of_a_thread_join_the_one_the_region_found():
    kept = _kept(THREAD, taken={"Reply", "Feb 3, 2024", "Feb 4, 2024", "Similar threads"})
    assert "That usually means the firmware file on the card is missing or was only half written." in kept
    assert {"Thanks, that fixed it!", "The board booted on the first try after I copied the files again."} <= set(kept)
    assert "Pi 4 / Pi 5 / far too many cards" not in kept  # a signature under a longer line of the post
    assert "mlanders" not in kept and "#2" not in kept  # the post's header
    assert "Board will not boot after editing the config" not in kept


def test_a_post_keeps_its_paragraphs_and_what_lies_between_posts_goes():
    page = """Forum

Which tyres for wet roots?

#1 · Jun 3, 2024
My local trails are all roots, and they get slippery as soon as it rains, even a little bit.

I ride a hardtail with the tyres it came with, and I would rather not spend a fortune on new ones.
Save Share
rider_two
1,674 posts · Joined 2020

#2 · Jun 4, 2024
A softer compound helps more than a wider tyre does, on roots.
Save Share

Related threads
Best pedals for winter riding
"""
    kept = _kept(page, taken={"Save Share"})
    assert "I ride a hardtail with the tyres it came with, and I would rather not spend a fortune on new ones." in kept
    assert "A softer compound helps more than a wider tyre does, on roots." in kept
    assert "1,674 posts · Joined 2020" not in kept and "rider_two" not in kept and "#2 · Jun 4, 2024" not in kept
    assert "Best pedals for winter riding" not in kept


def _news_items(n: int) -> str:
    """A news listing's items: a headline, a one-sentence summary, a byline other rules remove."""
    return "\n\n".join(
        f"Story number {k} about the harbour\n\n"
        f"The council voted on the harbour plan for the {k}th time, and the vote was close again.\n\n"
        f"By Staff Writer {k}" for k in range(1, n + 1))


def test_every_item_of_a_listing_stays_when_each_is_parted_by_its_byline():
    page = f"Latest news | Harbour Times\n\nHome\nNews\nSport\n\n{_news_items(8)}\n\nMore stories\n\nImprint\nPrivacy"
    bylines = {f"By Staff Writer {k}" for k in range(1, 9)}
    kept = _kept(page, taken=bylines | {"Home", "News", "Sport", "More stories", "Imprint", "Privacy"})
    for k in range(1, 9):
        assert f"Story number {k} about the harbour" in kept
        assert f"The council voted on the harbour plan for the {k}th time, and the vote was close again." in kept
    # one byline stretch at a time, as before: only one item
    assert len(_kept(page, taken=bylines, listing_items=0)) < 10


def test_teasers_beside_a_longer_article_still_go():
    article = "\n\n".join(
        f"Paragraph {k} of the report explains how the new harbour wall was built, what it cost the town, "
        f"and why the engineers chose stone over concrete for the outer face of it." for k in range(1, 4))
    share = "Share\nFacebook\nEmail\nPrint\nComments"
    tags = "\n".join(f"Tag {k}" for k in range(1, 13))
    page = (f"Harbour wall finished | Harbour Times\n\nHome\nNews\n\nHarbour wall finished\n\n{article}\n\n"
            f"{share}\n\n{tags}\n\nRead more\n\n{_news_items(6)}\n\nImprint")
    bylines = {f"By Staff Writer {k}" for k in range(1, 7)}
    taken = bylines | set(share.split("\n")) | {"Home", "News", "Read more", "Imprint"}
    # The share bar and the tags part the teasers from the article, so that each teaser is
    # a stretch of its own, like a listing's items; but together they weigh less than the
    # article (they would stay if they needed to weigh only half of it).
    kept = _kept(page, taken=taken)
    assert sum(line.startswith("Paragraph ") for line in kept) == 3
    assert not any(line.startswith(("Story number", "The council voted")) for line in kept)
    assert any(line.startswith("The council voted") for line in _kept(page, taken=taken, listing_weight=0.5))


def test_a_heading_between_two_paragraphs_of_the_article_is_vouched_for():
    page = """Council approves bike lanes

The council voted on Tuesday to build twelve kilometres of protected bike lanes downtown.

What happens next

The transport department will publish a detailed timeline for the work in March.

Related stories
"""
    lines = _lines(page)
    found, vouched = ArticleRegion().hits_and_vouched(lines)
    by_text = {line.text: line.index for line in lines}
    assert by_text["What happens next"] in vouched and by_text["What happens next"] not in found
    # A short line after the article's last paragraph heads nothing of it.
    assert by_text["Related stories"] not in vouched


TABLE_PAGE = """Population of the largest cities

The table below lists the five largest cities by population in 2020, with their countries.

City | Country | Population
Tokyo | Japan | 37,400,000
Delhi | India | 31,000,000
Shanghai | China | 27,100,000
São Paulo | Brazil | 22,000,000
Mexico City | Mexico | 21,800,000

Figures are estimates for the urban area, not the city proper.

Advertisement

The ranking changes little from year to year, although Delhi is expected to overtake Tokyo within a decade.

More statistics
"""


def test_a_table_between_paragraphs_is_part_of_the_article():
    """Its rows are short lines, but they cost nothing: the intro above the table and the
    note under it are one article with the paragraph after the ad label."""
    kept = _kept(TABLE_PAGE, taken={"Advertisement"})
    assert kept[:3] == ["Population of the largest cities", "The table below lists the five largest cities by "
                        "population in 2020, with their countries.", "City | Country | Population"]
    assert "Mexico City | Mexico | 21,800,000" in kept and "Figures are estimates for the urban area, not the city " \
        "proper." in kept
    assert "More statistics" not in kept


def test_a_table_whose_cells_tabs_part_is_a_table_too():
    """Normalising makes a row's tabs spaces ("Tokyo Japan 37,400,000"), which read as
    three short words; the raw line still has its cells, and the rows cost nothing."""
    page = TABLE_PAGE.replace(" | ", "\t")
    kept = _kept(page, taken={"Advertisement"})
    rows = [line for line in page.splitlines() if "\t" in line]
    assert len(rows) == 6
    assert [normalise_text(row) for row in rows if normalise_text(row) not in kept] == []
    assert "Figures are estimates for the urban area, not the city proper." in kept


def test_a_markdown_table_is_a_table_and_a_markdown_heading_a_heading():
    """"| a | b |" rows and their "|---|---|" line cost nothing inside the text, as " | "
    rows do; "## Sources" over a paragraph is vouched for, as a heading is."""
    rows = TABLE_PAGE.split("\n\n")[2].splitlines()
    markdown = "\n".join(["| " + row + " |" for row in rows[:1]] + ["|---|:---:|---:|"]
                         + ["| " + row + " |" for row in rows[1:]])
    page = TABLE_PAGE.replace("\n".join(rows), markdown).replace("More statistics", "## Sources\n\n"
                                                                 "The figures come from the national statistics "
                                                                 "offices of each country, as published in 2021.")
    lines = _lines(page)
    found, vouched = ArticleRegion().hits_and_vouched(lines, frozenset(
        line.index for line in lines if line.text == "Advertisement"))
    kept = [line.text for line in lines if line.index not in found]
    assert [row for row in markdown.splitlines() if row not in kept] == []
    assert "Sources" in kept and next(line.index for line in lines if line.raw == "## Sources") in vouched


def test_a_note_under_a_list_after_the_article_joins_it():
    """The list costs more than the note earns, so the article ends at its paragraph; the
    list joins it for its structure, and the note under the list with it."""
    page = """Spring cleaning checklist

Most of the work is done in a weekend if you start with the rooms you use the least and keep going.

What to clean
- windows and their frames
- the oven and the hood
- the fridge, shelf by shelf
- the curtains
- the rugs
- the skirting boards
- the mattresses

Open the windows while you work, so that the rooms dry quickly.

Newsletter
Sign up
"""
    kept = _kept(page, taken={"Newsletter", "Sign up"})
    assert "- the mattresses" in kept
    assert "Open the windows while you work, so that the rooms dry quickly." in kept


FEATURE_GRID = """Plannery

Plan your team's week in one place

Plannery brings your tasks, your calendar and your team's notes together, so that nobody has to ask where anything is.

Every plan starts from a template, and you change it as the work changes, without losing what was decided before.

Task boards
Drag tasks across columns as they move from an idea to done
Shared calendar
See every deadline and meeting of the team on one page
Time tracking
Record the hours spent on each task and bill them to your clients
Reports
A weekly summary of what was finished and what is late

Pricing
Log in
"""


def test_a_grid_of_feature_cards_after_the_text_joins_it():
    """A title over a line about it, three times or more: a service page's features,
    which read as neither prose nor a list, and the article used to end before them."""
    kept = _kept(FEATURE_GRID, taken={"Pricing", "Log in"})
    assert {"Task boards", "Shared calendar", "Reports",
            "Record the hours spent on each task and bill them to your clients",
            "A weekly summary of what was finished and what is late"} <= set(kept)


def test_two_cards_or_cards_parted_by_removed_lines_are_not_a_grid():
    two = FEATURE_GRID.replace("Time tracking\nRecord the hours spent on each task and bill them to your clients\n", "")
    two = two.replace("Reports\nA weekly summary of what was finished and what is late\n", "")
    kept = _kept(two, taken={"Pricing", "Log in"})
    assert "Task boards" not in kept and "Shared calendar" not in kept
    parted = FEATURE_GRID.replace("Shared calendar\n", "Sponsored\nShared calendar\n")
    kept = _kept(parted, taken={"Pricing", "Log in", "Sponsored"})
    assert "Shared calendar" not in kept and "Reports" not in kept
    assert "Plannery brings your tasks, your calendar and your team's notes together, so that nobody has to ask " \
           "where anything is." in kept


def test_a_heading_over_a_list_inside_the_article_is_vouched_for():
    page = """Senior data engineer

We build route planning software for bus and ferry operators across the whole region.

What we offer
- A yearly training budget.
- Private health insurance.
- 25 days of paid holiday.

We reply to every application within two weeks, whatever the outcome of it.
"""
    lines = _lines(page)
    found, vouched = ArticleRegion().hits_and_vouched(lines)
    by_text = {line.text: line.index for line in lines}
    assert by_text["What we offer"] in vouched and by_text["What we offer"] not in found
    assert by_text["- A yearly training budget."] not in vouched  # items are judged as the model judges them


SONG = """River Song

Traditional folk song, collected in the valley in 1921.

Down by the river
where the willows grow
I met my true love
a long time ago

She wore a ribbon
the colour of rain
and said she would wait
till I came home again

More songs
"""


def test_verse_is_the_text_of_a_song_page():
    kept = _kept(SONG, taken={"More songs"})
    assert "a long time ago" in kept and "till I came home again" in kept


@pytest.mark.parametrize(("block", "verse"), [
    ("Down by the river\nwhere the willows grow\nI met my true love\na long time ago", True),
    ("Die Nebel ziehen übers Land,\nDie Boote liegen still am Strand,\nEin Reiher steht im flachen Grau,\n"
     "Und wartet auf den Morgentau.", True),
    # teaser headlines, a menu, and prose wrapped at a width (a sentence ends inside a line)
    ("Council approves the new budget\nStorm closes the coast road\nSchools reopen after the holidays", False),
    ("News\nSport\nWeather", False),
    ("Our greenhouse staff are experienced\nhorticulturists who care for the plants\nfor our customers. We love\n"
     "sending you our best.", False),
])
def test_stanzas(block, verse):
    assert bool(_stanza_blocks(_lines(block), frozenset())) is verse


WRAPPED = """The village lay at the foot of a long green hill, and in the mornings
the mist came down from the woods and filled the lanes so that the
children walked to school through a white world.

He kept to himself for a month. Then one Sunday he stood up in the
middle of the sermon and walked out of the church, and that was the
beginning of the trouble."""


def test_a_paragraph_wrapped_at_a_width_is_prose_to_its_last_line():
    lines = _lines(WRAPPED)
    assert _wrapped_prose(lines, [tokens(line.text) for line in lines], frozenset(), 6, 30) == [(0, 2), (3, 5)]
    assert _kept(f"Chapter One\n\n{WRAPPED}\n\nNext chapter", taken={"Next chapter"})[-1] == "beginning of the trouble."


def test_steps_that_go_on_in_lower_case_are_not_a_wrapped_paragraph():
    """Lines of very different lengths were not wrapped at a width: each is a line of its own."""
    steps = _lines("Enchufla\nder Mann macht auch eine Enchufla und taucht unter ihrem rechten Arm hindurch\n"
                   "direkt danach ein Handwechsel\nwieder Enchufla und andere Hand greifen.")
    assert _wrapped_prose(steps, None, frozenset(), 6, 30) == []


BLOG_INDEX = """Trail Notes

Three days on the Cotswold Way
12 March 2024
We walked the northern half of the trail in early spring, with mud up to our ankles.
Read more

How to pack a lighter rucksack
2 March 2024
Most of the weight in a rucksack comes from three or four items, and here is how we cut ours.
Read more

A beginner's guide to map reading
8 February 2024
You do not need a GPS to find your way: a paper map, a compass and an hour of practice do.
Read more

Ramblerjoe
9 February 2024
Great guide, thank you for writing it up so clearly for the rest of us.
"""


def test_a_blog_index_keeps_its_post_titles_and_a_thread_drops_its_authors():
    """Dated blocks of prose are read as posts, and what lies between posts goes; a
    headline of four words or more right above a post's date stays (an item's title), a
    name does not (a commenter's card)."""
    kept = _kept(BLOG_INDEX, taken={"Read more", "12 March 2024", "2 March 2024", "8 February 2024",
                                    "9 February 2024"})
    assert "How to pack a lighter rucksack" in kept and "A beginner's guide to map reading" in kept
    assert "Ramblerjoe" not in kept


def test_a_markdown_title_heading_is_the_headline_however_short():
    """Plain text's headline has 3 to 20 words; "# Backups" is a page's title by its mark."""
    from curate.document import Document
    from curate.stages.normalise import normalise

    menu = [f"- [{item}](/{item.lower()})" for item in ("Docs", "Blog", "Pricing", "Status", "Careers", "Sign in")]
    page = ["Tidepool", *menu, "Docs > Guides", "# Backups",
            "Tidepool copies each volume to the bucket you name, on the schedule you set, every night.",
            "A run that fails is retried twice, ten minutes apart, before it is reported as failed."]
    lines = normalise(Document("d", "d.txt", None, [Line(k, raw, raw, Origin(k + 1, 0, len(raw)), False)
                                                    for k, raw in enumerate(page)])).lines
    chrome = frozenset(line.index for line in lines if line.text.startswith("- ") or ">" in line.text)
    found, vouched = ArticleRegion().hits_and_vouched(lines, chrome)
    title = page.index("# Backups")
    assert title not in found and title in vouched


def test_the_title_anchor_looks_for_a_titles_first_parts_only():
    # A title has a handful of parts; a first line of thousands of them was tested against
    # every line above the article, parts times lines (minutes for a 0.8 MB page).
    from curate.detectors import TITLE_PARTS_MAX, _title_anchor

    parts = [f"section number {k:03d}" for k in range(TITLE_PARTS_MAX + 4)]
    title = " | ".join(parts)
    body = _lines("\n".join(["Home", parts[2], "Menu entry one", parts[-1], "Menu entry two"]))
    assert _title_anchor(title, body, len(body)) == 1  # the last part is past the first TITLE_PARTS_MAX
    assert _title_anchor(" | ".join(parts[:3] * 50), body, len(body)) == 1  # repeated parts count once
    assert _title_anchor(title, body, 1) is None  # only lines before the article's start
