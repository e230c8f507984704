"""Names for the demo district: Hanbin's real towns and offices, and plausible people and places.

The town list, the two workroom sites and the sizes come from the source article; everything else
(village names, people, phones, most sites) is invented to look real, not copied from anyone.
"""

from __future__ import annotations

import random

CITY = ("6109", "安康市")
DISTRICT = ("610902", "汉滨区")

# The 28 towns and subdistricts (镇、街道) of Hanbin; codes are 610902001.. in this order.
TOWNS = (
    "老城街道",
    "新城街道",
    "江北街道",
    "建民街道",
    "关庙镇",
    "张滩镇",
    "瀛湖镇",
    "五里镇",
    "大竹园镇",
    "洪山镇",
    "茨沟镇",
    "大河镇",
    "沈坝镇",
    "双龙镇",
    "叶坪镇",
    "中原镇",
    "早阳镇",
    "石梯镇",
    "关家镇",
    "县河镇",
    "晏坝镇",
    "谭坝镇",
    "坝河镇",
    "牛蹄镇",
    "紫荆镇",
    "流水镇",
    "吉河镇",
    "石转镇",
)

# (site, town it belongs to or None for the district); the first two are the source's own.
WORKROOM_SITES = (
    ("高新安商总会", None),
    ("张坝公路重点项目建设现场", None),
    ("汉滨区电子商务产业园", None),
    ("瀛湖生态旅游景区", "瀛湖镇"),
    ("关庙镇现代农业园区", "关庙镇"),
    ("江北棚户区改造项目现场", "江北街道"),
    ("双龙镇富硒茶产业园", "双龙镇"),
    ("五里工业集中区", "五里镇"),
)

# 区直部门: (code, name, categories). Every category but "other" is taken by at least one.
DISTRICT_DEPARTMENTS = (
    ("d-development-reform", "汉滨区发展和改革局", ("industry_loans", "other")),
    ("d-finance", "汉滨区财政局", ("hardship", "industry_loans", "other")),
    ("d-transport", "汉滨区交通运输局", ("roads_and_landslides",)),
    ("d-agriculture-forestry-water", "汉滨区农业农村局", ("industry_loans", "sanitation", "water_supply")),
    ("d-health", "汉滨区卫生健康局", ("serious_illness_aid", "sanitation")),
    ("d-education", "汉滨区教育体育科技局", ("schooling",)),
    ("d-human-resources", "汉滨区人力资源和社会保障局", ("employment", "medical_insurance")),
    ("d-civil-affairs", "汉滨区民政局", ("hardship", "serious_illness_aid")),
    ("d-emergency", "汉滨区应急管理局", ("roads_and_landslides",)),
    ("d-veterans", "汉滨区退役军人事务局", ("hardship", "employment")),
    ("d-medical-insurance", "汉滨区医疗保障局", ("medical_insurance", "serious_illness_aid")),
    ("d-natural-resources", "汉滨区自然资源局", ("roads_and_landslides",)),
    ("d-housing", "汉滨区住房和城乡建设局", ("hardship", "sanitation")),
    ("d-public-security", "安康市公安局汉滨分局", ("neighbour_disputes",)),
    ("d-water", "汉滨区水利局", ("water_supply",)),
    ("d-urban-management", "汉滨区城市管理执法局", ("neighbour_disputes", "sanitation")),
)

# 市级部门, for city linkage (市区联动).
CITY_DEPARTMENTS = (
    ("c-transport", "安康市交通运输局", ("roads_and_landslides",)),
    ("c-water", "安康市水利局", ("water_supply",)),
    ("c-medical-insurance", "安康市医疗保障局", ("medical_insurance", "serious_illness_aid")),
    ("c-housing", "安康市住房和城乡建设局", ("hardship", "sanitation")),
    ("c-natural-resources", "安康市自然资源局", ("roads_and_landslides",)),
)

# 镇站办所: (code suffix, name in a town, name in a subdistrict, categories). A subdistrict has no
# 社保站: its 社会事务办 takes social security too, so it has four offices and a town five.
TOWN_OFFICES = (
    ("civil", "民政办", "社会事务办", ("hardship", "serious_illness_aid", "schooling")),
    ("agriculture", "农业综合服务站", "农业综合服务站", ("industry_loans", "water_supply")),
    ("construction", "村镇建设办", "城建环保办", ("roads_and_landslides", "sanitation", "water_supply")),
    ("stability", "综治中心", "综治中心", ("neighbour_disputes", "other")),
    ("social-security", "社保站", None, ("employment", "medical_insurance")),
)

DISTRICT_LEADER_TITLES = ("区人大常委会副主任", "区政府副区长", "区委常委", "区政协副主席", "区人大常委会主任")
TOWN_CADRE_TITLES = ("党委副书记", "人大主席", "副镇长", "党委委员", "武装部部长")
SUBDISTRICT_CADRE_TITLES = ("党工委副书记", "人大工委主任", "办事处副主任", "党工委委员")

GRASSROOTS_JOBS = ("农民", "村党支部书记", "村委会主任", "个体工商户", "专业合作社理事长", "乡村医生", "教师")
HIGHER_JOBS = ("企业负责人", "镇党委书记", "机关干部", "教师", "医生", "社区党委书记", "村党支部书记")

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万严覃戴向汤柯"
)
MALE_GIVEN = "伟强军平刚勇杰涛明超斌波辉鹏华林峰建国文志兴宏海东亮成德祥春安宝顺福全忠武荣新长晓"
FEMALE_GIVEN = "芳娟敏静丽艳娜霞燕玲红梅琴英华秀兰凤云莉萍洁珍慧婷雪倩佳晓春爱玉桂"

# Villages: a first syllable and a landform; communities: a first and a second syllable.
VILLAGE_FIRST = "东西南北新老大小上下石白黄青龙凤马牛金双三五七花柳桂茶松竹杨枣梨桃长高何陈吴张安平和兴永太中明"
VILLAGE_SECOND = "河沟坪湾坝梁岭垭庙寨堰塘山桥园口关岩坡台营铺店溪洲庄林川岗院田滩岔峪"
COMMUNITY_FIRST = "新兴文育和安建民胜利东西南香金锦阳晨光华幸福康泰汉江"
COMMUNITY_SECOND = "华才安昌平乐康园苑坊城桥街关门溪湖堤路源丰盛"


class Namer:
    """Makes names and phone numbers from one seeded `random.Random`; phones never repeat."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._phones: set[str] = set()

    def person(self) -> tuple[str, str]:
        """(name, gender): a common surname and one or two given characters."""
        gender = "female" if self._rng.random() < 0.3 else "male"
        given = FEMALE_GIVEN if gender == "female" else MALE_GIVEN
        length = 1 if self._rng.random() < 0.3 else 2
        return self._rng.choice(SURNAMES) + "".join(self._rng.choices(given, k=length)), gender

    def mobile(self) -> str:
        """An 11-digit mobile number starting 13x, 15x or 18x."""
        while True:
            phone = "1" + self._rng.choice("358") + "".join(self._rng.choices("0123456789", k=9))
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def landline(self) -> str:
        """An Ankang office number (area code 0915)."""
        return "0915-3" + "".join(self._rng.choices("0123456789", k=6))

    def villages(self, town: str, count: int) -> list[str]:
        """`count` village or community names, unique within the town. A subdistrict has communities
        (社区); a town has its seat's community (named after the town) and then villages (村)."""
        subdistrict = town.endswith("街道")
        names: list[str] = [] if subdistrict else [town.removesuffix("镇") + "社区"]
        first, second, suffix = (
            (COMMUNITY_FIRST, COMMUNITY_SECOND, "社区") if subdistrict else (VILLAGE_FIRST, VILLAGE_SECOND, "村")
        )
        while len(names) < count:
            head, tail = self._rng.choice(first), self._rng.choice(second)
            name = head + tail + suffix
            if head != tail and name not in names:
                names.append(name)
        return names[:count]
