"""Slot values of the synthetic instructions: things to branch over, people and audiences."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemPool:
    """Things a workflow branches over; `countable` pools may be named by a count alone ("three vendors")."""

    noun: str
    names: tuple[str, ...]
    countable: bool = True


ITEM_POOLS: dict[str, ItemPool] = {
    "language": ItemPool("languages", (
        "French", "German", "Spanish", "Japanese", "Italian", "Portuguese", "Korean", "Dutch",
        "Polish", "Arabic", "Hindi", "Swedish", "Turkish", "Chinese"), countable=False),
    "vendor": ItemPool("vendors", (
        "Acme Cloud", "Globex", "Initech", "Umbrella Systems", "Hooli", "Stark Data",
        "Wayne Analytics", "Soylent Software", "Vandelay Tech")),
    "competitor": ItemPool("competitors", (
        "Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware",
        "Adventure Works", "Blue Yonder", "Zenith Labs")),
    "file": ItemPool("files", (
        "sales_q1.csv", "sales_q2.csv", "returns_2025.xlsx", "inventory.parquet",
        "web_traffic.csv", "survey_results.xlsx", "churn_export.csv", "ledger_march.csv",
        "payroll_april.csv", "leads_export.csv")),
    "region": ItemPool("regions", (
        "EMEA", "North America", "LATAM", "APAC", "the Nordics", "DACH", "Benelux",
        "Southeast Asia", "the UK", "India")),
    "channel": ItemPool("channels", (
        "LinkedIn", "Twitter", "Instagram", "the newsletter", "the blog", "TikTok", "Facebook",
        "YouTube", "Threads", "Reddit")),
    "candidate": ItemPool("candidates", (
        "Alice Martin", "Bilal Khan", "Chen Wei", "Dana Cohen", "Eva Novak", "Femi Adeyemi",
        "Gita Rao", "Hugo Lefebvre", "Ines Costa", "Jonas Berg")),
    "service": ItemPool("services", (
        "the auth service", "the billing API", "the search service", "the payments worker",
        "the notification service", "the gateway", "the scheduler", "the reporting job",
        "the user service")),
    "ticket": ItemPool("tickets", (
        "ticket #4512", "ticket #4519", "ticket #4533", "ticket #4540", "ticket #4547",
        "ticket #4561", "ticket #4570", "ticket #4588", "ticket #4593")),
    "contract": ItemPool("contracts", (
        "the NDA with Globex", "the Initech MSA", "the Hooli reseller agreement",
        "the office lease", "the Acme SLA", "the Contoso licence",
        "the Umbrella supply contract", "the Stark consulting SOW", "the Oscorp data licence",
        "the Wonka distribution deal")),
    "product": ItemPool("products", (
        "the Pro plan", "the mobile app", "the analytics add-on", "the starter kit",
        "the enterprise tier", "the smart speaker", "the API platform", "the desktop client",
        "the browser extension")),
    "paper": ItemPool("papers", (
        "the attention paper", "the scaling-laws paper", "the RLHF survey",
        "the retrieval-augmentation paper", "the mixture-of-experts paper",
        "the distillation paper", "the chain-of-thought paper", "the LoRA paper",
        "the tokenizer study")),
    "episode": ItemPool("episodes", (
        "episode 12", "episode 13", "episode 14", "episode 15", "episode 16", "episode 17",
        "episode 18", "episode 19", "episode 20")),
    "image": ItemPool("images", (
        "photo_001.jpg", "photo_002.jpg", "receipt_scan.png", "whiteboard.jpg", "diagram.png",
        "storefront.jpg", "shelf_photo.jpg", "menu_board.jpg", "label_closeup.png")),
    "chapter": ItemPool("chapters", (
        "chapter 1", "chapter 2", "chapter 3", "chapter 4", "chapter 5", "chapter 6",
        "chapter 7", "chapter 8", "chapter 9")),
    "account": ItemPool("accounts", (
        "Acme Corp", "Globex", "Initech", "Hooli", "Massive Dynamic", "Cyberdyne", "Tyrell Corp",
        "Oscorp", "Wonka Industries")),
}

PEOPLE = ("Maria", "the finance team", "our CEO", "the client", "Jordan", "the legal team", "the whole team",
          "Priya", "Sam from ops", "the product owner", "my manager")
AUDIENCES = ("the leadership team", "the board", "new hires", "the client", "the all-hands", "the investors",
        "the sales team", "tomorrow's workshop")
