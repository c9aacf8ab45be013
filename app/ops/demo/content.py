"""The words of the demo: hand-written needs, comments and residents, and the fragments that
`bourse seed-demo --needs N` composes into generated needs.

Everything here is data. `app.ops.demo.seed` turns it into rows. The hand-written needs read
like posts by residents of the Bordeaux area (two were written by the fabrique's team for
people met in a street survey); dates are given in days before the first seeding, so the
board looks alive whenever it is seeded.

The generated fragments are plain sentences with no Markdown or HTML syntax and no characters
that Markdown or HTML would change (no `*`, `_`, `#`, `<`, `&`, backquote, quotes or a digit
followed by a dot at the start): `app.ops.demo.seed` builds their HTML directly instead of
running each body through the Markdown renderer, and a test checks that both give the same
result.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- demo residents -------------------------------------------------------------------------

# (key, e-mail, public display name). In development their password is demo-<key>-2026; elsewhere
# it is random. Keys are how the needs below name their authors and supporters; "habitante",
# "equipe" and "moderation" are accounts created by app.ops.demo.seed.DEMO_ACCOUNTS.
DEMO_RESIDENTS: list[tuple[str, str, str]] = [
    ("amel", "amel.b@demo.bourse.example", "Amel B."),
    ("sophie", "sophie.m@demo.bourse.example", "Sophie M."),
    ("jeanpierre", "jean-pierre.l@demo.bourse.example", "Jean-Pierre L."),
    ("nadia", "nadia.k@demo.bourse.example", "Nadia K."),
    ("mamadou", "mamadou.s@demo.bourse.example", "Mamadou S."),
    ("thomas", "thomas.r@demo.bourse.example", "Thomas R."),
    ("lucas_ines", "lucas.ines@demo.bourse.example", "Lucas et Inès"),
    ("marieclaude", "marie-claude.d@demo.bourse.example", "Marie-Claude D."),
    ("odile", "odile.v@demo.bourse.example", "Odile V."),
    ("karim", "karim.d@demo.bourse.example", "Karim D."),
    # Her first need waits for a moderator (moderation mode `first-post`).
    ("chantal", "chantal.p@demo.bourse.example", "Chantal P."),
]


# --- hand-written needs ---------------------------------------------------------------------


@dataclass(frozen=True)
class DemoComment:
    author: str
    days_ago: float
    body: str
    replies: tuple[DemoComment, ...] = ()


@dataclass(frozen=True)
class DemoNeed:
    title: str  # the natural key: seeding again skips a need whose title exists
    author: str
    theme: str | None
    territory: str | None
    days_ago: float
    body: str
    # Other accounts that support the need (the author's own support is added by the seeder).
    supporters: tuple[str, ...] = ()
    # When the supports came: "early" (soon after posting), "steady" or "recent" (last days),
    # so that the trending sort differs from the top sort.
    momentum: str = "steady"
    # Supports that say how the person is concerned, and where: (supporter, concern, territory).
    evidence: tuple[tuple[str, str, str | None], ...] = ()
    comments: tuple[DemoComment, ...] = ()
    status: str = "published"
    # Needs collected offline (app.board.models.NeedSource): published under the fabrique's
    # name, `author` being the staff member who typed them in.
    source: str = "online"
    source_event: str | None = None
    source_partner: str | None = None
    # People staff met offline about the need (app.board.models.OfflineCollection): (people,
    # method, days before the need was published), counted in its demand.
    met_offline: tuple[tuple[int, str, int], ...] = ()
    # Staff qualification: tags and an internal note (the need is then marked « qualifié »).
    tags: tuple[str, ...] = ()
    internal_note: str = ""


C = DemoComment

DEMO_NEEDS: list[DemoNeed] = [
    DemoNeed(
        title="Une conciergerie pour les salariés de la zone d'activités de Mérignac",
        author="amel",
        theme="services-entreprises",
        territory="merignac",
        days_ago=228,
        tags=("conciergerie", "zone d'activités", "salariés"),
        internal_note=(
            "Besoin confirmé par trois entreprises de la zone et par la Ville de Mérignac. "
            "Prêt pour l'étude d'opportunité."
        ),
        momentum="early",
        body=(
            "Je travaille dans une entreprise de logistique près de l'aéroport. Entre les "
            "trajets et les horaires, je pars vers 7 h et je rentre après 19 h : impossible de "
            "passer au pressing, chez le cordonnier ou de récupérer un colis avant la fermeture."
            "\n\n"
            "Sur la zone, nous sommes des milliers dans le même cas. Un service sur place nous "
            "simplifierait vraiment la vie :\n\n"
            "- dépôt et retrait du pressing et des retouches\n"
            "- réception des colis\n"
            "- paniers de légumes et petites courses à récupérer le soir\n"
            "- un coup de main pour les démarches (carte grise, mutuelle…)\n\n"
            "Et si ce service embauchait des gens du coin qui cherchent du travail, ce serait "
            "encore mieux."
        ),
        supporters=(
            "sophie",
            "karim",
            "nadia",
            "thomas",
            "habitante",
            "jeanpierre",
            "mamadou",
            "odile",
            "lucas_ines",
        ),
        evidence=(
            ("sophie", "would_use", "pessac"),
            ("karim", "could_help", "begles"),
            ("nadia", "would_use", "floirac"),
        ),
        comments=(
            C(
                "karim",
                201,
                "Je cherche justement du travail et ce genre de poste me plairait beaucoup. "
                "Est-ce que ça pourrait prendre la forme d'une entreprise d'insertion ?",
                replies=(
                    C(
                        "amel",
                        200,
                        "C'est exactement ce que j'imaginais : un service utile aux salariés, "
                        "qui fait travailler des personnes du quartier.",
                    ),
                ),
            ),
            C(
                "equipe",
                181,
                "Merci pour ce besoin très concret. La ville de Mérignac nous a signalé une "
                "demande très proche : nous rapprochons les deux et commençons une première "
                "étude. Nous donnerons des nouvelles ici.",
                replies=(
                    C(
                        "sophie",
                        179,
                        "Bonne nouvelle ! Pensez aussi au personnel de la clinique, nous avons "
                        "les mêmes horaires impossibles.",
                    ),
                ),
            ),
        ),
    ),
    DemoNeed(
        title="Garde d'enfants tôt le matin et le soir pour les parents en horaires décalés",
        author="sophie",
        theme="petite-enfance-famille",
        territory="pessac",
        days_ago=165,
        body=(
            "Je suis infirmière et je commence à 6 h 30 une semaine sur deux. La crèche de mon "
            "quartier ouvre à 7 h 30 et ferme à 18 h 30, et aucune assistante maternelle que "
            "j'ai appelée n'accueille d'enfant avant 7 h.\n\n"
            "Du coup je dépends de ma mère, qui a 74 ans, ou des voisins. Je connais au moins "
            "six collègues dans la même galère, sans parler des caissières du centre "
            "commercial.\n\n"
            "Ce qu'il nous faudrait :\n\n"
            "- un accueil à partir de 5 h 30 et jusqu'à 22 h\n"
            "- pouvoir réserver selon le planning, qui change chaque mois\n"
            "- un tarif qui tienne compte des aides de la CAF\n\n"
            "Des crèches en horaires atypiques existent ailleurs en France. Pourquoi pas ici ?"
        ),
        supporters=(
            "nadia",
            "amel",
            "jeanpierre",
            "karim",
            "habitante",
            "marieclaude",
            "odile",
            "lucas_ines",
        ),
        evidence=(
            ("nadia", "has_need", "floirac"),
            ("amel", "org_could_support", "merignac"),
        ),
        comments=(
            C(
                "nadia",
                151,
                "Pareil pour moi : je fais le ménage dans des bureaux de 5 h à 8 h. Mes "
                "enfants restent seuls le matin et ça m'inquiète.",
            ),
            C(
                "amel",
                140,
                "Une micro-crèche sur la zone de l'aéroport aurait du succès, plusieurs "
                "entreprises pourraient y réserver des places.",
                replies=(
                    C(
                        "sophie",
                        139,
                        "Oui ! Si les employeurs participaient, tout le monde y gagnerait.",
                    ),
                ),
            ),
            C(
                "equipe",
                120,
                "Nous avons repéré deux services de garde à domicile en horaires décalés dans "
                "d'autres départements. Si vous êtes dans ce cas, cliquez sur « Moi aussi » : "
                "chaque soutien pèse dans l'étude.",
            ),
        ),
    ),
    DemoNeed(
        title="Transport solidaire pour les personnes âgées isolées de Blanquefort",
        author="jeanpierre",
        theme="vieillissement",
        territory="blanquefort",
        days_ago=132,
        momentum="early",
        body=(
            "Depuis que j'ai arrêté de conduire, aller chez le médecin ou au marché est devenu "
            "une expédition. Le bus passe une fois par heure et l'arrêt est loin de chez moi. "
            "Dans mon lotissement, au moins cinq voisins de plus de 80 ans n'ont plus de "
            "voiture non plus.\n\n"
            "Un service de transport avec des chauffeurs, bénévoles ou salariés, que l'on "
            "pourrait réserver la veille par téléphone (pas seulement sur internet), nous "
            "permettrait de rester chez nous plus longtemps."
        ),
        supporters=("odile", "thomas", "marieclaude", "habitante", "sophie", "mamadou"),
        evidence=(("odile", "has_need", "libourne"), ("thomas", "could_help", "bordeaux")),
        comments=(
            C(
                "odile",
                121,
                "Dans le Libournais c'est encore pire. Un transport à la demande qui desserve "
                "aussi les villages serait le bienvenu.",
            ),
            C(
                "marieclaude",
                110,
                "Et pour rendre visite à son conjoint à l'hôpital ou en maison de retraite ! Il "
                "n'y a pas que les rendez-vous médicaux.",
                replies=(C("jeanpierre", 109, "Tout à fait, les visites comptent autant. Merci."),),
            ),
            C(
                "thomas",
                61,
                "Je pourrais conduire le samedi matin si une association organise les trajets.",
            ),
        ),
    ),
    DemoNeed(
        title="Une épicerie solidaire à Floirac",
        author="nadia",
        theme="alimentation",
        territory="floirac",
        days_ago=41,
        momentum="recent",
        body=(
            "Avec trois enfants et un seul salaire, chez nous la fin du mois commence le 15. "
            "L'épicerie solidaire la plus proche est à Cenon et elle ne prend plus personne. "
            "J'aimerais une épicerie où l'on paie une partie du prix seulement, avec des "
            "produits frais, et pourquoi pas un coin pour cuisiner ensemble et s'échanger des "
            "recettes qui ne coûtent pas cher."
        ),
        supporters=("karim", "mamadou", "sophie", "habitante", "amel", "lucas_ines"),
        evidence=(("karim", "has_need", "begles"), ("mamadou", "org_could_support", "begles")),
        comments=(
            C(
                "karim",
                36,
                "À Bègles aussi on en aurait besoin. Je pourrais donner un coup de main à la "
                "caisse.",
            ),
            C(
                "mamadou",
                30,
                "Notre association récupère les invendus de deux boulangeries, on pourrait "
                "s'organiser pour les apporter.",
                replies=(
                    C(
                        "nadia",
                        29,
                        "Super, merci ! Ça montre qu'il existe déjà des ressources tout près.",
                    ),
                ),
            ),
            C(
                "sophie",
                6,
                "Il faudrait que ce soit ouvert en fin de journée, pour celles et ceux qui "
                "travaillent.",
            ),
        ),
    ),
    DemoNeed(
        title="Une ressourcerie pour donner une seconde vie aux objets à Bègles",
        author="mamadou",
        theme="environnement",
        territory="begles",
        days_ago=96,
        body=(
            "Chaque mois, le jour des encombrants, je vois des meubles en bon état finir sur "
            "le trottoir. Une ressourcerie pourrait les collecter, les remettre en état et les "
            "revendre à petit prix, tout en créant des emplois.\n\n"
            "Idéalement, il y aurait :\n\n"
            "- une collecte à domicile pour celles et ceux qui n'ont pas de véhicule\n"
            "- un atelier de réparation ouvert aux habitants\n"
            "- une boutique aux prix accessibles"
        ),
        supporters=("jeanpierre", "lucas_ines", "thomas", "karim"),
        evidence=(("jeanpierre", "could_help", "blanquefort"),),
        comments=(
            C(
                "lucas_ines",
                80,
                "On vient d'emménager et on a tout acheté d'occasion en ligne. Une boutique à "
                "côté de chez nous aurait été parfaite.",
            ),
            C(
                "jeanpierre",
                70,
                "J'ai été menuisier toute ma vie. Je pourrais animer un atelier de réparation "
                "de meubles une fois par semaine.",
                replies=(
                    C(
                        "mamadou",
                        69,
                        "Merci Jean-Pierre, c'est exactement le genre d'aide qui peut lancer le "
                        "projet !",
                    ),
                ),
            ),
        ),
    ),
    DemoNeed(
        title="Un atelier de réparation de vélos en libre accès près de la gare",
        author="thomas",
        theme="mobilite",
        territory="bordeaux",
        days_ago=9,
        momentum="recent",
        body=(
            "De plus en plus de gens vont au travail à vélo, mais à la moindre crevaison ou au "
            "moindre frein à régler, les magasins annoncent deux semaines d'attente. Un atelier "
            "où l'on apprend à réparer soi-même, avec des outils, un mécanicien pour conseiller "
            "et des pièces d'occasion, éviterait à beaucoup de monde de remiser son vélo au "
            "garage."
        ),
        supporters=("karim", "lucas_ines", "amel", "mamadou", "sophie"),
        evidence=(("karim", "has_need", "begles"),),
        comments=(
            C(
                "karim",
                7,
                "Je n'ai pas de voiture, mon vélo est mon seul moyen d'aller aux entretiens "
                "d'embauche. Quand il est en panne, je suis coincé.",
                replies=(
                    C(
                        "thomas",
                        6.5,
                        "Justement, un atelier pourrait aussi prêter un vélo le temps de la "
                        "réparation.",
                    ),
                ),
            ),
            C(
                "lucas_ines",
                5,
                "Carrément ! Avec des séances pour les étudiants, on serait nombreux à venir.",
            ),
            C(
                "amel",
                2,
                "À Mérignac, beaucoup de salariés viendraient à vélo s'il y avait de quoi le "
                "réparer sur place.",
            ),
        ),
    ),
    DemoNeed(
        title="Démarches administratives en ligne : ce que nous ont dit les habitants au marché "
        "de Pessac",
        author="equipe",
        theme=None,
        territory="pessac",
        days_ago=58,
        source="street_survey",
        source_event="Enquête de rue au marché de Pessac centre",
        met_offline=((34, "survey", 10), (27, "survey", 3)),
        body=(
            "Nous publions ce besoin pour les personnes rencontrées pendant notre enquête de "
            "rue au marché de Pessac centre : deux matinées de septembre, une soixantaine de "
            "personnes interrogées.\n\n"
            "Ce qui revient le plus souvent :\n\n"
            "- déclarer ses revenus ou renouveler un droit en ligne sans ordinateur ni "
            "imprimante\n"
            "- ne pas savoir à qui demander de l'aide, ou être gêné de le faire\n"
            "- des rendez-vous en mairie complets plusieurs semaines à l'avance\n\n"
            "Beaucoup aimeraient être accompagnés près de chez eux, en face à face, par "
            "quelqu'un de patient. Si vous vivez la même chose, dites-le ici : vos soutiens et "
            "vos commentaires nourriront l'étude."
        ),
        supporters=("marieclaude", "odile", "jeanpierre", "nadia", "karim"),
        evidence=(("marieclaude", "has_need", "talence"), ("odile", "has_need", "libourne")),
        comments=(
            C(
                "marieclaude",
                50,
                "Merci de relayer. Mes petits-enfants m'aident, mais ils habitent loin. J'ai "
                "failli perdre une aide parce que je n'avais pas vu un message sur mon espace "
                "en ligne.",
            ),
            C(
                "odile",
                45,
                "Même chose dans les villages : le guichet de la mairie n'ouvre plus que deux "
                "demi-journées par semaine.",
                replies=(
                    C(
                        "equipe",
                        44,
                        "Merci pour ce témoignage. Nous ajoutons le Libournais au périmètre de "
                        "l'étude.",
                    ),
                ),
            ),
        ),
    ),
    DemoNeed(
        title="Un jardin partagé au pied des résidences",
        author="habitante",
        theme="environnement",
        territory="merignac",
        days_ago=236,
        momentum="early",
        body=(
            "Dans ma résidence, presque tout le monde vit en appartement sans balcon, et il y "
            "a une grande pelouse dont personne ne se sert. Un jardin partagé, avec quelqu'un "
            "pour lancer le projet et conseiller les débutants, ferait du bien à tout le monde."
        ),
        supporters=("lucas_ines", "jeanpierre"),
        comments=(
            C("lucas_ines", 220, "On a envie de jardiner aussi, même si on n'y connaît rien !"),
            C(
                "jeanpierre",
                210,
                "Il faut en général l'accord du bailleur pour utiliser la pelouse. Ça vaut le "
                "coup de lui écrire.",
            ),
        ),
    ),
    DemoNeed(
        title="Colocation entre étudiants et personnes âgées qui ont une chambre libre",
        author="lucas_ines",
        theme="logement",
        territory="talence",
        days_ago=87,
        body=(
            "Nous sommes étudiants à Talence et nous payons près de 500 € pour 15 m². Dans le "
            "même temps, beaucoup de personnes âgées vivent seules dans des maisons devenues "
            "trop grandes.\n\n"
            "Une colocation intergénérationnelle aiderait les deux : un loyer modéré contre un "
            "peu de présence le soir. Il faudrait une structure qui fasse les mises en relation, "
            "propose une charte et reste joignable si quelque chose ne va pas."
        ),
        supporters=("marieclaude", "sophie", "thomas", "odile"),
        comments=(
            C(
                "marieclaude",
                80,
                "Je vis seule depuis deux ans dans une maison de trois chambres. J'y ai déjà "
                "pensé, mais je n'oserais pas sans un cadre et quelqu'un à appeler en cas de "
                "souci.",
                replies=(
                    C(
                        "lucas_ines",
                        79,
                        "C'est pour ça qu'une structure qui accompagne serait indispensable. "
                        "Merci pour votre message !",
                    ),
                ),
            ),
            C(
                "sophie",
                60,
                "Il faudrait penser aussi aux jeunes en apprentissage, pas seulement aux "
                "étudiants.",
            ),
        ),
    ),
    DemoNeed(
        title="Un accueil de jour pour se poser, se doucher et laver son linge",
        author="equipe",
        theme="sante-handicap",
        territory="bordeaux",
        days_ago=34,
        source="street_survey",
        source_event="Maraude autour de la gare Saint-Jean",
        source_partner="Association de maraude du quartier Saint-Jean",
        met_offline=((14, "survey", 3), (9, "drop_in", 0)),
        body=(
            "Publié par l'équipe de la fabrique après une enquête de rue menée avec une "
            "association de maraude, autour de la gare Saint-Jean.\n\n"
            "Les personnes rencontrées, qui dorment dehors ou chez des proches, ont parlé de "
            "choses très concrètes : prendre une douche, laver ses vêtements, recharger son "
            "téléphone, recevoir du courrier, se reposer quelques heures au calme. Les lieux "
            "qui existent sont saturés et ferment tôt.\n\n"
            "Un accueil de jour ouvert aussi le week-end répondrait à une partie de ces besoins."
        ),
        supporters=("mamadou", "nadia", "thomas", "sophie", "karim"),
        evidence=(("mamadou", "org_could_support", "bordeaux"),),
        comments=(
            C(
                "mamadou",
                30,
                "Je fais des maraudes depuis trois ans : c'est le manque numéro un, surtout le "
                "dimanche.",
            ),
            C(
                "nadia",
                20,
                "Une laverie solidaire servirait aussi aux familles qui n'ont pas de machine.",
                replies=(
                    C(
                        "equipe",
                        19,
                        "Bonne remarque : un même lieu pourrait accueillir plusieurs publics. "
                        "Nous le notons pour l'étude.",
                    ),
                ),
            ),
        ),
    ),
    DemoNeed(
        title="Aller travailler sans voiture depuis les villages du Libournais",
        author="odile",
        theme="emploi-insertion",
        territory="libourne",
        days_ago=72,
        body=(
            "J'habite à 15 km de Libourne et je n'ai pas le permis. On m'a proposé un poste en "
            "logistique qui commence à 5 h du matin : aucun bus à cette heure-là, j'ai dû "
            "refuser.\n\n"
            "Plusieurs pistes pourraient aider :\n\n"
            "- louer un scooter ou une voiturette à petit prix le temps de trouver une solution\n"
            "- un covoiturage organisé avec les entreprises\n"
            "- une aide pour passer le permis\n\n"
            "Je suis sûre que beaucoup de gens ici renoncent à un emploi pour ces raisons."
        ),
        supporters=("karim", "amel", "thomas", "nadia", "jeanpierre"),
        evidence=(("karim", "has_need", "begles"),),
        comments=(
            C(
                "karim",
                65,
                "Même problème à Bègles pour les postes de nuit : il n'y a plus de tram.",
            ),
            C(
                "equipe",
                50,
                "Merci Odile. La mobilité pour aller travailler revient souvent dans ce que "
                "nous disent les structures d'insertion : ce besoin sera rapproché des autres "
                "demandes du même type.",
                replies=(
                    C("odile", 49, "Merci, ça fait du bien de savoir qu'on n'est pas seuls."),
                ),
            ),
        ),
    ),
    DemoNeed(
        title="Des repas livrés à domicile au retour d'une hospitalisation",
        author="sophie",
        theme="sante-handicap",
        territory="pessac",
        days_ago=19,
        momentum="recent",
        body=(
            "Dans mon métier, je vois beaucoup de patients rentrer chez eux trop fatigués pour "
            "faire les courses ou cuisiner. Le portage de repas existe pour les personnes "
            "âgées, mais pas toujours pour quelqu'un de 45 ans qui sort d'une opération, et "
            "l'inscription prend du temps.\n\n"
            "Il faudrait un service qui se met en place en deux jours, pour quelques semaines, "
            "avec des repas adaptés (sans sel, pour diabétiques…)."
        ),
        supporters=("jeanpierre", "habitante", "marieclaude"),
        comments=(
            C(
                "jeanpierre",
                15,
                "Ma voisine est sortie de l'hôpital la semaine dernière et c'est moi qui fais "
                "ses courses. Un service comme ça l'aurait bien aidée.",
            ),
            C(
                "habitante",
                10,
                "Et si les repas étaient cuisinés par un restaurant d'insertion ? Les deux "
                "besoins iraient bien ensemble.",
                replies=(
                    C("karim", 9, "Bonne idée, ça rejoint ce que je proposais pour Mérignac !"),
                ),
            ),
        ),
    ),
    DemoNeed(
        title="Un restaurant d'insertion pour se former aux métiers de la cuisine",
        author="karim",
        theme="emploi-insertion",
        territory="merignac",
        days_ago=121,
        body=(
            "Je suis au chômage depuis un an et j'aimerais travailler en cuisine, mais sans "
            "expérience personne ne me donne ma chance. Un restaurant qui embauche des "
            "personnes éloignées de l'emploi, les forme pendant quelques mois et sert de bons "
            "repas aux salariés du coin serait une vraie chance pour moi et pour d'autres."
        ),
        supporters=("amel", "mamadou", "nadia", "habitante", "odile"),
        evidence=(("amel", "would_use", "merignac"),),
        comments=(
            C(
                "amel",
                110,
                "Sur la zone de Mérignac, le midi, il n'y a que des sandwicheries. Un vrai "
                "restaurant à prix raisonnable aurait beaucoup de clients.",
            ),
            C(
                "equipe",
                90,
                "Un restaurant d'insertion fait partie des pistes étudiées pour la zone "
                "d'activités de Mérignac, avec la conciergerie. Nous ajoutons votre témoignage "
                "au dossier.",
                replies=(
                    C(
                        "karim",
                        89,
                        "Merci ! Je peux aussi témoigner si vous avez besoin de l'avis de "
                        "personnes qui cherchent un emploi.",
                    ),
                ),
            ),
        ),
    ),
    DemoNeed(
        title="Un lieu pour les ados le samedi après-midi",
        author="karim",
        theme="culture-loisirs",
        territory="begles",
        days_ago=27,
        body=(
            "Mon petit frère a 14 ans et il tourne en rond le week-end. Un lieu encadré par des "
            "animateurs, avec de la musique, des jeux et des sorties à prix réduit (musée, "
            "cinéma, matchs), lui éviterait de passer ses journées sur son téléphone."
        ),
        supporters=("nadia", "thomas"),
        comments=(
            C(
                "nadia",
                20,
                "Mes deux grands seraient ravis. Les sorties, c'est souvent trop cher pour nous.",
            ),
        ),
    ),
    DemoNeed(
        title="Du répit pour les aidants de proches malades",
        author="marieclaude",
        theme="vieillissement",
        territory="talence",
        days_ago=12,
        momentum="recent",
        body=(
            "Mon mari a la maladie d'Alzheimer et je m'occupe de lui jour et nuit. Je ne suis "
            "pas allée chez le coiffeur depuis six mois. Ce qui m'aiderait :\n\n"
            "- une personne formée qui vienne quelques heures par semaine\n"
            "- un endroit où il pourrait passer une journée en sécurité\n"
            "- un groupe de parole avec d'autres aidants\n\n"
            "Je sais que des solutions existent, mais elles sont loin et il faut attendre des "
            "mois."
        ),
        supporters=("jeanpierre", "sophie", "odile", "nadia"),
        evidence=(("jeanpierre", "could_help", "blanquefort"),),
        comments=(
            C(
                "jeanpierre",
                10,
                "Je vous comprends, j'ai vécu la même chose avec mon épouse. Un groupe de "
                "parole m'aurait beaucoup aidé.",
                replies=(C("marieclaude", 9, "Merci Jean-Pierre, ça fait du bien de vous lire."),),
            ),
            C(
                "sophie",
                8,
                "Certains hôpitaux ont des plateformes de répit, mais elles sont débordées. Je "
                "soutiens.",
            ),
            C(
                "odile",
                4,
                "Ma sœur est dans la même situation dans le Libournais. Il en faudrait partout.",
            ),
        ),
    ),
    DemoNeed(
        title="Des cours de natation pour les adultes qui n'ont jamais appris",
        author="chantal",
        theme="culture-loisirs",
        territory="floirac",
        days_ago=2,
        status="pending",
        body=(
            "J'ai 52 ans et je n'ai jamais appris à nager. À la piscine, les cours sont pour les "
            "enfants ou déjà complets. J'aimerais des cours en petit groupe, sans jugement, le "
            "soir ou le samedi."
        ),
    ),
]


@dataclass(frozen=True)
class DemoReport:
    """A report waiting in the moderation queue: `comment_of` is the title of the need whose
    first comment by `target_author` is reported; otherwise the need titled `need` is."""

    reporter: str
    reason: str
    need: str
    detail: str = ""
    target_author: str | None = None


# A comment that looks like advertising, reported by two residents: with the default threshold
# of three distinct reporters it stays visible until a moderator decides (issue 4).
SPAM_COMMENT = DemoComment(
    author="karim",
    days_ago=1,
    body="Besoin d'un crédit rapide ? Contactez-moi en message privé, réponse en 24 h.",
)
DEMO_REPORTS: list[DemoReport] = [
    DemoReport(
        "sophie",
        "spam",
        "Un jardin partagé au pied des résidences",
        detail="Publicité pour un crédit, sans rapport avec le jardin.",
        target_author="karim",
    ),
    DemoReport("nadia", "spam", "Un jardin partagé au pied des résidences", target_author="karim"),
    DemoReport(
        "thomas",
        "off_topic",
        "Un lieu pour les ados le samedi après-midi",
        detail="Ce n'est pas plutôt une demande pour la mairie ?",
    ),
]


# --- fragments for generated needs (`--needs N`) ----------------------------------------------

# (what is missing, theme slug). Each reads after "Il manque" and as a title on its own.
SERVICES: list[tuple[str, str]] = [
    ("une crèche ouverte tôt le matin", "petite-enfance-famille"),
    ("une crèche en horaires décalés", "petite-enfance-famille"),
    ("une halte-garderie pour les rendez-vous et les entretiens", "petite-enfance-famille"),
    ("un relais pour les parents solos", "petite-enfance-famille"),
    ("du soutien scolaire à petit prix", "petite-enfance-famille"),
    ("une conciergerie pour les salariés", "services-entreprises"),
    ("un service de pressing et de retouches sur le lieu de travail", "services-entreprises"),
    ("une cantine inter-entreprises", "services-entreprises"),
    ("un service de ménage des bureaux confié à une entreprise d'insertion", "emploi-insertion"),
    ("un restaurant d'insertion", "emploi-insertion"),
    ("un chantier d'insertion dans les espaces verts", "emploi-insertion"),
    ("un accompagnement vers l'emploi des jeunes sans diplôme", "emploi-insertion"),
    ("une aide pour rédiger un CV et préparer un entretien", "emploi-insertion"),
    ("un transport solidaire pour les personnes âgées", "vieillissement"),
    ("des visites de convivialité pour les personnes isolées", "vieillissement"),
    ("un accueil de jour pour les personnes désorientées", "vieillissement"),
    ("du répit pour les aidants familiaux", "vieillissement"),
    ("une épicerie solidaire", "alimentation"),
    ("des repas livrés à domicile", "alimentation"),
    ("un atelier de cuisine à petit budget", "alimentation"),
    ("un marché de producteurs accessible sans voiture", "alimentation"),
    ("une recyclerie", "environnement"),
    ("une ressourcerie avec un atelier de réparation", "environnement"),
    ("un jardin partagé", "environnement"),
    ("un composteur collectif", "environnement"),
    ("un atelier de réparation de vélos", "mobilite"),
    ("un garage solidaire", "mobilite"),
    ("une location de scooters pour aller travailler", "mobilite"),
    ("un covoiturage organisé vers les zones d'activités", "mobilite"),
    ("une auto-école sociale", "mobilite"),
    ("une colocation intergénérationnelle", "logement"),
    ("un service de petits travaux à domicile", "logement"),
    ("une aide pour trouver un logement quand on travaille en intérim", "logement"),
    ("un accueil de jour pour les personnes sans domicile", "logement"),
    ("une aide aux démarches administratives en ligne", "sante-handicap"),
    ("un transport adapté aux fauteuils roulants", "sante-handicap"),
    ("une permanence de santé sans rendez-vous", "sante-handicap"),
    ("des sorties culturelles pour les ados", "culture-loisirs"),
    ("un café associatif ouvert le dimanche", "culture-loisirs"),
    ("des cours de natation pour adultes", "culture-loisirs"),
    ("une ludothèque de quartier", "culture-loisirs"),
]

AUDIENCES: list[str] = [
    "pour les soignants de nuit",
    "pour les familles monoparentales",
    "pour les personnes âgées sans voiture",
    "pour les étudiants",
    "pour les salariés de la zone d'activités",
    "pour les personnes en recherche d'emploi",
    "pour les habitants des résidences",
    "pour les jeunes du quartier",
    "pour les personnes en situation de handicap",
    "pour les parents qui travaillent le week-end",
    "pour les aidants",
    "pour les nouveaux arrivants",
]

PLACES: list[str] = [
    "près de la gare",
    "dans le centre-bourg",
    "au pied des résidences",
    "près du marché",
    "à côté de la zone d'activités",
    "dans les quartiers nord",
    "près du collège",
    "autour de la place de la mairie",
]

OPENINGS: list[str] = [
    "J'habite ici depuis {years} ans et je vois le problème s'aggraver.",
    "Je suis maman de {children} enfants et je travaille en horaires décalés.",
    "Je viens d'arriver dans la commune et je ne trouve aucune solution.",
    "Je suis à la retraite et je vis seul depuis {years} ans.",
    "Nous sommes plusieurs voisins à nous poser la même question.",
    "Je travaille dans la zone d'activités depuis {years} ans.",
    "Je suis étudiante et je cumule les petits boulots.",
    "Je m'occupe de mon père qui ne peut plus conduire.",
    "Je cherche du travail depuis {months} mois.",
    "Je suis bénévole dans une association du quartier.",
]

# The first sentence after the opening names what is missing…
PROBLEMS: list[str] = [
    "Il manque {service} {audience}, et ce qui existe est trop loin.",
    "Ce qu'il faudrait, c'est {service} {place}, avec des horaires larges.",
    "Nous aurions besoin de trouver {service} {place}.",
    "Je n'ai trouvé nulle part {service} {audience}.",
]

# …the next ones add detail.
DETAILS: list[str] = [
    "Rien de tel n'existe dans le secteur, alors que la demande est forte.",
    "Le service le plus proche de ce type est à {distance} km, sans transport en commun.",
    "Les listes d'attente dépassent {months} mois et personne ne sait vers qui se tourner.",
    "Plusieurs personnes autour de moi ont renoncé à un emploi ou à un soin pour cette raison.",
    "Les horaires actuels ne conviennent pas à ceux qui travaillent tôt ou tard.",
    "Le prix est trop élevé pour beaucoup de familles du quartier.",
]

WISHES: list[str] = [
    "des horaires adaptés à ceux qui travaillent",
    "des tarifs qui tiennent compte des revenus",
    "un accueil sans rendez-vous",
    "des personnes formées et patientes",
    "la possibilité de venir avec les enfants",
    "un accès facile en bus ou à vélo",
    "des emplois pour les habitants du quartier",
    "une inscription possible par téléphone",
    "un lieu accessible aux fauteuils roulants",
    "un partenariat avec les entreprises du secteur",
]

CLOSINGS: list[str] = [
    "Qui d'autre est dans cette situation ?",
    "Si vous êtes concerné, soutenez ce besoin.",
    "Merci à la fabrique de regarder ce qui pourrait être monté.",
    "Je suis prête à donner un coup de main pour que ça existe.",
    "Une association ou une entreprise pourrait sûrement porter ce projet.",
    "Ce serait utile à beaucoup plus de monde qu'on ne le pense.",
]

COMMENT_SENTENCES: list[str] = [
    "Je suis exactement dans ce cas.",
    "Même chose pour nous dans le quartier.",
    "Je soutiens, c'est un vrai manque.",
    "Ma voisine en aurait besoin aussi.",
    "Je pourrais donner un coup de main quelques heures par mois.",
    "Notre association pourrait prêter un local.",
    "Il existe quelque chose de semblable dans une autre ville, ça marche bien.",
    "Il faudrait que ce soit ouvert le samedi.",
    "Le prix sera la clé pour les familles.",
    "Bonne idée, à condition que ce soit accessible en bus.",
    "Mon employeur serait peut-être prêt à participer.",
    "On en parlait justement à la sortie de l'école.",
    "Merci d'avoir posté ce besoin.",
    "Je relaie auprès de mon comité de quartier.",
    "Pensez aussi aux personnes qui ne lisent pas bien le français.",
    "Le service le plus proche a fermé l'an dernier.",
    "Cela créerait des emplois près de chez nous.",
    "Je travaille dans ce domaine et je confirme le besoin.",
]

FIRST_NAMES: list[str] = [
    "Camille",
    "Nicolas",
    "Fatima",
    "Julien",
    "Léa",
    "Mohamed",
    "Claire",
    "Hugo",
    "Aïcha",
    "Pierre",
    "Manon",
    "Yacine",
    "Isabelle",
    "Antoine",
    "Sarah",
    "Bernard",
    "Chloé",
    "Sébastien",
    "Mireille",
    "Kevin",
    "Élodie",
    "Patrick",
    "Inès",
    "François",
    "Zoé",
    "Mathieu",
    "Nathalie",
    "Rayan",
    "Josiane",
    "Lucie",
]
